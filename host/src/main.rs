//! The `xedgesim` command; everything it does lives in the library.

fn main() -> std::process::ExitCode {
    xedgesim::cli::main()
}
