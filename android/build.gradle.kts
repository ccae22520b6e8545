// Android library module producing the Mesure AAR.
//
// NOT RUN IN THIS REPOSITORY'S CI: it needs the Android SDK + NDK (r27 or
// later), cargo-ndk (`cargo install cargo-ndk`) and the Rust Android targets
// (`rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`).
// What CI does run is the same Kotlin wrapper and generated bindings on the
// desktop JVM (`cargo xtask test-kotlin`).
//
// The Rust library is built per ABI with cargo-ndk, without the Rust HTTP
// client (the app side uses HttpUrlConnectionClient or its own), linked with
// 16 KB page alignment (required for Android 15+ devices with 16 KB pages).
// The Kotlin bindings are generated at build time from a host build of the
// same crate; they are never committed.

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

val repoRoot: File = rootDir.parentFile
val rustOut = layout.buildDirectory.dir("rustJniLibs")
val generatedKotlin = layout.buildDirectory.dir("generated/uniffi/kotlin")
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val cargo = providers.environmentVariable("CARGO").orElse("cargo")

android {
    namespace = "eu.mesure"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
        ndk { abiFilters += abis }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    sourceSets["main"].apply {
        jniLibs.srcDir(rustOut)
        kotlin.srcDir(generatedKotlin)
    }
    packaging {
        // The .so files are already stripped by the release profile below.
        jniLibs.keepDebugSymbols += "**/libmesure_ffi.so"
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // JNA with its own native dispatch libraries for every ABI.
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
}

val cargoNdkBuild by tasks.registering(Exec::class) {
    description = "Builds libmesure_ffi.so for each ABI with cargo-ndk."
    workingDir = repoRoot
    val pageSize = "-C link-arg=-Wl,-z,max-page-size=16384"
    environment("CARGO_TARGET_AARCH64_LINUX_ANDROID_RUSTFLAGS", pageSize)
    environment("CARGO_TARGET_ARMV7_LINUX_ANDROIDEABI_RUSTFLAGS", pageSize)
    environment("CARGO_TARGET_X86_64_LINUX_ANDROID_RUSTFLAGS", pageSize)
    environment("CARGO_PROFILE_RELEASE_STRIP", "symbols")
    commandLine(
        listOf(cargo.get(), "ndk", "--platform", "26", "-o", rustOut.get().asFile.path) +
            abis.flatMap { listOf("-t", it) } +
            listOf("build", "--release", "-p", "mesure-ffi", "--no-default-features"),
    )
    inputs.dir(File(repoRoot, "core/src"))
    inputs.dir(File(repoRoot, "bindings/src"))
    outputs.dir(rustOut)
}

val hostLibrary = "target/debug/" + when {
    System.getProperty("os.name").startsWith("Mac") -> "libmesure_ffi.dylib"
    else -> "libmesure_ffi.so"
}

// Two cargo invocations: the bindgen's `cli` feature must not reach the library.
val hostLibraryBuild by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(cargo.get(), "build", "-p", "mesure-ffi", "--no-default-features")
}

val bindgenBuild by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(cargo.get(), "build", "-p", "uniffi-bindgen")
}

val uniffiBindings by tasks.registering(Exec::class) {
    description = "Generates the Kotlin bindings from a host build (unstripped: the generator reads its metadata)."
    dependsOn(hostLibraryBuild, bindgenBuild)
    workingDir = repoRoot
    commandLine(
        File(repoRoot, "target/debug/uniffi-bindgen").path, "generate", File(repoRoot, hostLibrary).path,
        "--language", "kotlin", "--no-format",
        "--config", File(projectDir, "uniffi-android.toml").path,
        "--out-dir", generatedKotlin.get().asFile.path,
    )
    inputs.dir(File(repoRoot, "bindings/src"))
    outputs.dir(generatedKotlin)
}

tasks.named("preBuild") { dependsOn(cargoNdkBuild, uniffiBindings) }
