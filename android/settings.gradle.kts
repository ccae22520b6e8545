// The Mesure Android library, buildable on its own (`./gradlew :assembleRelease`
// from this directory) or included in an app build (`includeBuild("path/to/mesure/android")`).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "mesure-android"
