// A cache hit allocates dozens of small objects (headers, futures, log lines); mimalloc's
// per-thread free lists cost a fraction of glibc malloc's on that path (README, "Against nginx").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    jquants_proxy::cli::main()
}
