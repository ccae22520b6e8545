// The Mesure Android library: `./gradlew publishToMavenLocal` from this
// directory, or `includeBuild("path/to/mesure/android")` from an app's
// settings (the group and version below let Gradle substitute this build
// for eu.mesure:mesure-android).
//
// Two modules, one artifact each: the wrapper (this directory, in
// explicit-API mode) and the generated bindings with the native libraries
// (ffi/): UniFFI's Kotlin declares no visibility, so it cannot be compiled
// in explicit-API mode with the wrapper.
pluginManagement {
    // The build's own conventions (build-logic/): the plugin mesure.publishing.
    includeBuild("build-logic")
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

plugins {
    // Provisions the JDK 17 that jvmToolchain(17) asks for, when the machine has none.
    id("org.gradle.toolchains.foojay-resolver-convention") version "0.9.0"
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "mesure-android"
include(":mesure-android-ffi")
project(":mesure-android-ffi").projectDir = file("ffi")
