//! `xedgesim new model NAME`: a model's folder, ready to test and run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::scaffold::{self, Language};

#[derive(Debug, Args)]
pub struct NewArgs {
    #[command(subcommand)]
    what: NewWhat,
}

#[derive(Debug, Subcommand)]
enum NewWhat {
    /// A node model: its code, its tests, a scenario that runs it, and the SDK.
    Model {
        /// Names the folder, the model, and the node and type in the sample scenario.
        name: String,
        /// The language to write it in.
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
        /// Where to make the folder (default: here).
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
}

/// The languages `new` and `sdk` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    #[value(alias = "javascript")]
    Js,
}

impl From<Lang> for Language {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::Rust => Language::Rust,
            Lang::Python => Language::Python,
            Lang::Js => Language::JavaScript,
        }
    }
}

pub fn run(args: &NewArgs) -> ExitCode {
    let NewWhat::Model { name, lang, dir } = &args.what;
    match scaffold::new_model(dir, name, (*lang).into()) {
        Ok(made) => {
            let made = made.strip_prefix(".").map(std::path::Path::to_path_buf).unwrap_or(made);
            let shown = made.display();
            let (what, setup, test) = match lang {
                Lang::Rust => ("a Rust model", None, "cargo test                  # its tests, natively"),
                Lang::Python => (
                    "a Python model",
                    Some("pip install componentize-py==0.25.1   # once: it builds the component"),
                    "python3 -m unittest         # its tests, under plain CPython",
                ),
                Lang::Js => (
                    "a JavaScript model",
                    Some("npm ci                      # once: installs componentize-qjs, which builds the component"),
                    "node test.js                # its test, under plain Node.js",
                ),
            };
            println!("made {shown}: {what}, its tests, scenario.yaml and the SDK");
            println!();
            println!("  cd {shown}");
            if let Some(setup) = setup {
                println!("  {setup}");
            }
            println!("  {test}");
            println!("  xedgesim build scenario.yaml  # builds the component from this folder (yours: you trust it)");
            println!("  xedgesim run scenario.yaml    # runs it with 3 sensors and a cloud");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_USER_ERROR)
        }
    }
}
