// The generated Kotlin bindings and libmesure_ffi.so for every ABI, published
// as eu.mesure:mesure-android-ffi (apps depend on mesure-android, which
// brings this one). NOT RUN IN THIS REPOSITORY'S CI: it needs the Android
// SDK, NDK r27+, cargo-ndk and the Rust Android targets (see ../README.md).
//
// Both the bindings and the libraries are task outputs wired through the
// variant API (no sourceSets, no preBuild dependency): a clean build
// generates them, an unchanged workspace reuses them.

import com.android.build.api.artifact.SingleArtifact
import javax.inject.Inject
import org.gradle.process.ExecOperations

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.dokka")
    // ../build-logic/: the POM both artifacts share, and signing.
    id("mesure.publishing")
}

val workspace: Directory = rootProject.layout.projectDirectory.dir("..")
// CARGO_TARGET_DIR as cargo reads it (relative to the workspace), target/ by default.
val cargoTargetDir: Provider<Directory> = providers.environmentVariable("CARGO_TARGET_DIR")
    .map { workspace.dir(it) }
    .orElse(workspace.dir("target"))
val cargo: Provider<String> = providers.environmentVariable("CARGO").orElse("cargo")
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64", "x86")
val jnaVersion = "5.17.0"

android {
    namespace = "eu.mesure.ffi"
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
    packaging {
        // Stripped by cargo already (CARGO_PROFILE_RELEASE_STRIP below).
        jniLibs.keepDebugSymbols += "**/libmesure_ffi.so"
    }
    publishing {
        singleVariant("release") { withSourcesJar() }
    }
}

kotlin {
    jvmToolchain(17)
}

val jnaAar: Configuration by configurations.creating {
    description = "JNA's AAR alone, for the 16 KB check of the libraries it carries."
    isCanBeConsumed = false
    isTransitive = false
}

dependencies {
    // JNA 5.17 (5.14 crashed on 16 KB-page devices, JNA issue 1618) with its
    // own libjnidispatch.so for every ABI. Public: the bindings' types extend JNA's.
    api("net.java.dev.jna:jna:$jnaVersion@aar")
    // The generated bindings annotate with androidx.annotation (android = true).
    implementation("androidx.annotation:annotation:1.9.1")
    jnaAar("net.java.dev.jna:jna:$jnaVersion@aar")
}

/** Sources whose change means a new library or new bindings. */
fun rustInputs(): FileCollection = files(
    workspace.dir("core/src"),
    workspace.dir("bindings/src"),
    workspace.file("Cargo.toml"),
    workspace.file("Cargo.lock"),
    workspace.file("core/Cargo.toml"),
    workspace.file("bindings/Cargo.toml"),
    workspace.file("bindings/uniffi.toml"),
)

/** libmesure_ffi.so per ABI, with cargo-ndk: 16 KB page aligned, no Rust HTTP client. */
abstract class CargoNdkBuild @Inject constructor(private val exec: ExecOperations) : DefaultTask() {
    @get:InputFiles @get:PathSensitive(PathSensitivity.RELATIVE) abstract val sources: ConfigurableFileCollection
    @get:Input abstract val abis: ListProperty<String>
    @get:Input abstract val cargo: Property<String>
    @get:Internal abstract val workspace: DirectoryProperty
    @get:Internal abstract val targetDir: DirectoryProperty
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    @TaskAction
    fun build() {
        val pageSize = "-C link-arg=-Wl,-z,max-page-size=16384"
        exec.exec {
            workingDir = workspace.get().asFile
            environment("CARGO_TARGET_DIR", targetDir.get().asFile.path)
            for (triple in listOf("AARCH64_LINUX_ANDROID", "ARMV7_LINUX_ANDROIDEABI", "X86_64_LINUX_ANDROID", "I686_LINUX_ANDROID")) {
                environment("CARGO_TARGET_${triple}_RUSTFLAGS", pageSize)
            }
            environment("CARGO_PROFILE_RELEASE_STRIP", "symbols")
            commandLine(
                listOf(cargo.get(), "ndk", "--platform", "26", "-o", outputDir.get().asFile.path) +
                    abis.get().flatMap { listOf("-t", it) } +
                    listOf("build", "--release", "-p", "mesure-ffi", "--no-default-features", "--features", "bundled-sqlite"),
            )
        }
    }
}

/** The Kotlin bindings, generated from a host build of the same crate (unstripped: the generator reads its metadata). */
abstract class UniffiBindings @Inject constructor(private val exec: ExecOperations) : DefaultTask() {
    @get:InputFiles @get:PathSensitive(PathSensitivity.RELATIVE) abstract val sources: ConfigurableFileCollection
    @get:InputFile @get:PathSensitive(PathSensitivity.NONE) abstract val config: RegularFileProperty
    @get:Input abstract val cargo: Property<String>
    @get:Internal abstract val workspace: DirectoryProperty
    @get:Internal abstract val targetDir: DirectoryProperty
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    @TaskAction
    fun generate() {
        val target = targetDir.get().asFile
        fun cargo(vararg args: String) = exec.exec {
            workingDir = workspace.get().asFile
            environment("CARGO_TARGET_DIR", target.path)
            commandLine(listOf(cargo.get()) + args)
        }
        // Two invocations: the bindgen's `cli` feature must not reach the library.
        cargo("build", "-p", "mesure-ffi", "--no-default-features", "--features", "bundled-sqlite")
        cargo("build", "-p", "uniffi-bindgen")
        val library = target.resolve("debug/" + System.mapLibraryName("mesure_ffi"))
        exec.exec {
            workingDir = workspace.get().asFile
            commandLine(
                target.resolve("debug/uniffi-bindgen").path, "generate", library.path,
                "--language", "kotlin", "--no-format",
                "--config", config.get().asFile.path,
                "--out-dir", outputDir.get().asFile.path,
            )
        }
    }
}

/** `cargo xtask check-16k` on the AAR and on JNA's: every .so they carry, 16 KB page aligned. */
abstract class Check16kPages @Inject constructor(private val exec: ExecOperations) : DefaultTask() {
    @get:InputFile @get:PathSensitive(PathSensitivity.NONE) abstract val aar: RegularFileProperty
    @get:InputFiles @get:PathSensitive(PathSensitivity.NONE) abstract val libraries: ConfigurableFileCollection
    @get:Input abstract val cargo: Property<String>
    @get:Internal abstract val workspace: DirectoryProperty
    @get:OutputFile abstract val report: RegularFileProperty

    @TaskAction
    fun check() {
        exec.exec {
            workingDir = workspace.get().asFile
            commandLine(listOf(cargo.get(), "xtask", "check-16k", aar.get().asFile.path) + libraries.files.map { it.path })
        }
        report.get().asFile.writeText("16 KB page aligned: ${aar.get().asFile.name} ${libraries.files.joinToString(" ") { it.name }}\n")
    }
}

val cargoNdkBuild = tasks.register<CargoNdkBuild>("cargoNdkBuild") {
    description = "Builds libmesure_ffi.so for each ABI with cargo-ndk."
    sources.from(rustInputs())
    this.abis.set(abis)
    this.cargo.set(cargo)
    this.workspace.set(workspace)
    this.targetDir.set(cargoTargetDir)
}

val uniffiBindings = tasks.register<UniffiBindings>("uniffiBindings") {
    description = "Generates the Kotlin bindings (android/uniffi-android.toml: the Android cleaner)."
    sources.from(rustInputs())
    config.set(rootProject.layout.projectDirectory.file("uniffi-android.toml"))
    this.cargo.set(cargo)
    this.workspace.set(workspace)
    this.targetDir.set(cargoTargetDir)
}

androidComponents {
    onVariants { variant ->
        variant.sources.kotlin?.addGeneratedSourceDirectory(uniffiBindings, UniffiBindings::outputDir)
        variant.sources.jniLibs?.addGeneratedSourceDirectory(cargoNdkBuild, CargoNdkBuild::outputDir)
        val name = variant.name.replaceFirstChar { it.uppercase() }
        val check = tasks.register<Check16kPages>("check16kPages$name") {
            description = "Checks that every .so of the $name AAR and of JNA's AAR is 16 KB page aligned."
            aar.set(variant.artifacts.get(SingleArtifact.AAR))
            libraries.from(jnaAar)
            this.cargo.set(cargo)
            this.workspace.set(workspace)
            report.set(layout.buildDirectory.file("reports/check16kPages$name.txt"))
        }
        // Part of every assemble of the variant, so a misaligned library never leaves unnoticed.
        tasks.named { it == "assemble$name" }.configureEach { dependsOn(check) }
    }
}

publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "mesure-android-ffi"
            afterEvaluate { from(components["release"]) }
            // Licence, developers, SCM, URL and signing: build-logic's mesure.publishing.
            pom {
                name.set("Mesure for Android: bindings and native libraries")
                description.set("The UniFFI bindings and libmesure_ffi.so (arm64-v8a, armeabi-v7a, x86_64, x86) behind eu.mesure:mesure-android.")
            }
        }
    }
}
