// A sample app for Mesure: a settings screen with the opt-out switch and the
// consent prompt, wired to Mesure.state. NOT RUN HERE (no Android SDK):
// build it on a developer machine with ../../android/gradlew -p . assembleDebug
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

plugins {
    id("org.gradle.toolchains.foojay-resolver-convention") version "0.9.0"
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

// The library from its sources: Gradle substitutes it for eu.mesure:mesure-android.
includeBuild("../../android")

rootProject.name = "mesure-sample"
