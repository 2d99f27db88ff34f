fn main() -> anyhow::Result<()> {
    jquants_proxy::cli::main()
}
