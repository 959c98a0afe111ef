//! Compiles proto/ with protox (a protobuf compiler in Rust), so building needs no
//! system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not with env!(): the compiled build script is shared by every
    // clone using the same CARGO_TARGET_DIR, and must not point at the first one.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let root = std::path::Path::new(&manifest_dir).join("../../proto");
    let files = [
        "tuflog/log/v1/log.proto",
        "tuflog/repo/v1/repo.proto",
        "tuflog/signer/v1/signer.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let descriptors = protox::compile(files, [&root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
