//! Command line: `serve`, `sim` and `openapi`, each flag with an environment equivalent.

pub fn main() -> anyhow::Result<()> {
    Ok(())
}
