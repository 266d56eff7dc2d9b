//! The values of `xedgesim sweep`'s executor options, checked as clap
//! reads them: what becomes an `#SBATCH` line (sbatch splits those at
//! blanks and reads quotes) and what goes into a Kubernetes manifest.

use std::path::PathBuf;

/// A value that becomes part of one `#SBATCH` line, which sbatch splits
/// at blanks and whose quotes it reads: none of those, no line break.
pub(super) fn sbatch_word(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("an empty value: give one, or leave the option out".to_string());
    }
    if text.chars().any(char::is_control) {
        return Err("a control character (a line break) would end the #SBATCH line".to_string());
    }
    if let Some(c) = text.chars().find(|c| c.is_whitespace() || "'\"\\".contains(*c)) {
        return Err(format!(
            "{c:?} cannot be carried by an #SBATCH line (sbatch splits it at blanks and reads quotes)"
        ));
    }
    Ok(text.to_string())
}

/// `--slurm-time`: one of the forms sbatch's --time takes.
pub(super) fn slurm_time(text: &str) -> Result<String, String> {
    let (days, clock) = match text.split_once('-') {
        Some((days, clock)) => (Some(days), clock),
        None => (None, text),
    };
    let numbers = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let parts: Vec<&str> = clock.split(':').collect();
    let fits = days.is_none_or(numbers) && parts.iter().all(|p| numbers(p)) && parts.len() <= 3;
    if fits || matches!(text, "UNLIMITED" | "INFINITE") {
        return Ok(text.to_string());
    }
    Err(format!(
        "'{text}' is not a Slurm time: write MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. 10:00)"
    ))
}

/// `--slurm-mem`: a whole number with an optional unit.
pub(super) fn slurm_mem(text: &str) -> Result<String, String> {
    let digits = text.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && text.len() - digits.len() <= 1 {
        return Ok(text.to_string());
    }
    Err(format!("'{text}' is not a Slurm memory size: write a whole number with an optional K, M, G or T (e.g. 2G)"))
}

/// `--slurm-arg`: one sbatch option; not one the script sets itself.
pub(super) fn slurm_arg(text: &str) -> Result<String, String> {
    let text = sbatch_word(text)?;
    if !text.starts_with('-') {
        return Err(format!(
            "'{text}' is not an sbatch option: write it as sbatch takes it, e.g. --slurm-arg=--account=proj"
        ));
    }
    let name = text.split('=').next().unwrap_or("");
    if ["--array", "-a", "--output", "-o", "--job-name", "-J"].contains(&name)
        || text.starts_with("-a")
        || text.starts_with("-o")
    {
        return Err(format!(
            "{name} is set by xedgesim (the array of unfinished points, the tasks' output files, the job's name): leave it out"
        ));
    }
    Ok(text)
}

/// `--image`: an image reference (no blank, quote or control character).
pub(super) fn image_name(text: &str) -> Result<String, String> {
    match text.chars().find(|c| c.is_whitespace() || c.is_control() || "'\"\\".contains(*c)) {
        _ if text.is_empty() => Err("an empty image name".to_string()),
        Some(c) => Err(format!("{c:?} cannot be in an image reference (e.g. registry.example/xedgesim-study:1)")),
        None => Ok(text.to_string()),
    }
}

/// `--pvc`: a Kubernetes object name (lowercase letters, digits, `-` and `.`, at most 253).
pub(super) fn claim_name(text: &str) -> Result<String, String> {
    let fits = !text.is_empty()
        && text.len() <= 253
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric());
    if fits {
        return Ok(text.to_string());
    }
    Err(format!(
        "'{}' is not a claim's name: Kubernetes names are lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
        text.escape_debug()
    ))
}

/// `--scenario-in-pod`: absolute (a pod's working folder is the image's).
pub(super) fn absolute_path(text: &str) -> Result<PathBuf, String> {
    if !text.starts_with('/') {
        return Err(format!("'{text}' is not absolute: give the scenario's absolute path inside the image"));
    }
    if text.chars().any(char::is_control) {
        return Err("a control character cannot be in the path".to_string());
    }
    Ok(PathBuf::from(text))
}
