use std::process::ExitCode;

// mimalloc rather than glibc's malloc: a profile of a 50-record list spent
// over a quarter of its CPU time in glibc's allocator (arena locking,
// consolidation of freed chunks), because every response builds and drops
// many small maps and strings across threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cairn::cli::run(cairn::cli::Cli::from_env())
}
