//! What reaches the terminal besides a command's output: the `-q`/`-v` level, notes on
//! stderr, and colour. Colour goes through anstream, which drops the escapes when stderr is
//! not a terminal or NO_COLOR is set, so pipes and CI logs get plain text.

use std::sync::atomic::{AtomicI8, Ordering};

use anstyle::{AnsiColor, Style};

use crate::error::{Diagnostic, Severity};

static VERBOSITY: AtomicI8 = AtomicI8::new(0);

/// -1 for `-q`, 0 by default, 1 and more for `-v`.
pub fn set_verbosity(level: i8) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    VERBOSITY.load(Ordering::Relaxed) < 0
}

pub fn verbose() -> bool {
    VERBOSITY.load(Ordering::Relaxed) > 0
}

/// A progress or summary note on stderr; `-q` silences it.
pub fn note(text: &str) {
    if !quiet() {
        anstream::eprintln!("{text}");
    }
}

/// A detail only `-v` shows.
pub fn detail(text: &str) {
    if verbose() {
        anstream::eprintln!("{}{text}{}", DIM.render(), DIM.render_reset());
    }
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const LOCATION: Style = Style::new().bold();
const HINT: Style = AnsiColor::Cyan.on_default();
const DIM: Style = Style::new().dimmed();

/// `error: ` with its colour escapes (stripped by anstream where colour is off).
pub fn error_prefix() -> String {
    format!("{}error:{} ", ERROR.render(), ERROR.render_reset())
}

/// A diagnostic as `Diagnostic`'s Display writes it, with the location, `warning:` and
/// `hint:` coloured.
pub fn diagnostic(d: &Diagnostic) -> String {
    let mut out = format!(
        "{}{}:{} ",
        LOCATION.render(),
        d.location(),
        LOCATION.render_reset()
    );
    match d.severity {
        Severity::Warning => out.push_str(&format!(
            "{}warning:{} ",
            WARNING.render(),
            WARNING.render_reset()
        )),
        Severity::Info => out.push_str(&format!("{}info:{} ", HINT.render(), HINT.render_reset())),
        Severity::Error => {}
    }
    if !d.path.is_empty() {
        out.push_str(&format!("{}: ", d.path));
    }
    out.push_str(&d.message);
    if let Some(rule) = &d.rule {
        out.push_str(&format!(" {}[{rule}]{}", DIM.render(), DIM.render_reset()));
    }
    if let Some(hint) = &d.hint {
        out.push_str(&format!(
            "\n  {}hint:{} {hint}",
            HINT.render(),
            HINT.render_reset()
        ));
    }
    out
}
