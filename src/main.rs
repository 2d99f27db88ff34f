fn main() -> std::process::ExitCode {
    jquants_proxy::cli::run()
}
