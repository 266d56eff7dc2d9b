//! `xedgesim sdk rust DIR`: the model SDK of this xedgesim, written into
//! DIR, for a crate of your own to depend on by path.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::scaffold::{self, Language};

#[derive(Debug, Args)]
pub struct SdkArgs {
    /// The SDK's language.
    #[arg(value_enum)]
    lang: super::new::Lang,
    /// A new folder to write it into.
    dir: PathBuf,
}

pub fn run(args: &SdkArgs) -> ExitCode {
    match scaffold::write_sdk(&args.dir, Language::from(args.lang)) {
        Ok(()) => {
            let dir = args.dir.display();
            match args.lang {
                super::new::Lang::Rust => {
                    println!("wrote the SDK to {dir}; depend on it with");
                    println!("  xedgesim-model = {{ path = \"{dir}\" }}");
                }
                super::new::Lang::Python => {
                    println!("wrote the SDK to {dir}: put {dir} on the model's path (its build.sh does)")
                }
                super::new::Lang::Js => {
                    println!("wrote the SDK to {dir}: `npm ci` there once, then `{dir}/build.sh MODEL_DIR OUT.wasm`")
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_USER_ERROR)
        }
    }
}
