// A cache hit allocates dozens of small objects (headers, futures, log lines); mimalloc's
// per-thread free lists cost a fraction of glibc malloc's on that path (docs/benchmarks.md, "Against nginx").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    jquants_proxy::cli::run()
}
