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
            println!("wrote the SDK to {}; depend on it with", args.dir.display());
            println!("  xedgesim-model = {{ path = \"{}\" }}", args.dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_USER_ERROR)
        }
    }
}
