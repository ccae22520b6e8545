// The Mesure wrapper (eu.mesure, eu.mesure.android) as an Android library,
// published as eu.mesure:mesure-android. The generated bindings and the
// native libraries are the module :mesure-android-ffi (ffi/build.gradle.kts),
// an `api` dependency of this one.
//
// NOT RUN IN THIS REPOSITORY'S CI: it needs the Android SDK and NDK. CI runs
// the same wrapper and bindings on the desktop JVM (`cargo xtask test-kotlin`).

import org.jetbrains.dokka.gradle.DokkaExtension

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
    id("org.jetbrains.dokka") version "2.0.0"
    id("org.jetbrains.dokka-javadoc") version "2.0.0"
    // build-logic/: the POM both artifacts share, and signing.
    id("mesure.publishing")
}

// One version for the crates and the AAR: [workspace.package] of the Cargo workspace.
val workspaceVersion: String = providers.fileContents(layout.projectDirectory.file("../Cargo.toml")).asText.map { toml ->
    Regex("""(?ms)^\[workspace\.package]\s.*?^version\s*=\s*"([^"]+)"""").find(toml)?.groupValues?.get(1)
        ?: error("no version in [workspace.package] of Cargo.toml")
}.get()

allprojects {
    group = "eu.mesure"
    version = workspaceVersion
}

android {
    namespace = "eu.mesure"
    compileSdk = 35
    defaultConfig {
        // The keep rules for JNA and the bindings travel with :mesure-android-ffi.
        minSdk = 26
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    publishing {
        singleVariant("release") { withSourcesJar() }
    }
}

kotlin {
    // Every public declaration is deliberate (the JVM suite compiles the wrapper the same way).
    explicitApi()
    jvmToolchain(17)
}

dependencies {
    api(project(":mesure-android-ffi"))
    // Public API: Mesure.state is a StateFlow, the waiting operations are suspend functions.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
    dokka(project(":mesure-android-ffi"))
}

// The reference site (./gradlew :dokkaGenerate -> build/dokka/html) and the javadoc jar.
extensions.configure<DokkaExtension> {
    moduleName.set("Mesure for Android")
    dokkaSourceSets.configureEach {
        includes.from("README.md")
        sourceLink {
            localDirectory.set(file("src/main/kotlin"))
            remoteUrl(providers.gradleProperty("mesure.repositoryUrl").map { "$it/blob/main/android/src/main/kotlin" })
        }
    }
}

val javadocJar by tasks.registering(Jar::class) {
    description = "The Dokka javadoc of the wrapper, for Maven."
    archiveClassifier.set("javadoc")
    from(tasks.named("dokkaGeneratePublicationJavadoc"))
}

publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "mesure-android"
            afterEvaluate { from(components["release"]) }
            artifact(javadocJar)
            // Licence, developers, SCM, URL and signing: build-logic's mesure.publishing.
            pom {
                name.set("Mesure for Android")
                description.set("Privacy-first audience measurement: the Kotlin API over the Rust core.")
            }
        }
    }
}
