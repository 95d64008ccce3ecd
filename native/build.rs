//! Builds the C++17 library in `cpp/` with the `cc` crate. Only this crate compiles
//! C++, so other crates' rebuilds never recompile it. `WEIR_NATIVE_SANITIZE`
//! (e.g. `address,undefined`) builds it with those sanitizers and links their runtimes.

fn main() {
    let sources = [
        "abi.cpp",
        "grammar.cpp",
        "passes.cpp",
        "pipeline.cpp",
        "sha256.cpp",
        "strings.cpp",
        "structure.cpp",
        "text.cpp",
        "tokenizer.cpp",
    ];
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .warnings(true)
        .extra_warnings(true)
        .opt_level(2);
    for s in sources {
        build.file(format!("cpp/{s}"));
    }
    println!("cargo:rerun-if-changed=cpp");
    println!("cargo:rerun-if-env-changed=WEIR_NATIVE_SANITIZE");
    if let Ok(sanitizers) = std::env::var("WEIR_NATIVE_SANITIZE")
        && !sanitizers.is_empty()
    {
        build
            .flag(format!("-fsanitize={sanitizers}"))
            .flag("-fno-omit-frame-pointer")
            .flag("-fno-sanitize-recover=all")
            .opt_level(1)
            .debug(true);
        for s in sanitizers.split(',') {
            match s.trim() {
                "address" => println!("cargo:rustc-link-lib=dylib=asan"),
                "undefined" => println!("cargo:rustc-link-lib=dylib=ubsan"),
                other => println!("cargo:warning=unknown sanitizer {other}: not linked"),
            }
        }
    }
    build.compile("weir_native");
}
