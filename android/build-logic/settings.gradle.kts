// The conventions of the Mesure Android build: one precompiled script
// plugin per concern, applied by both modules by id. Included from
// ../settings.gradle.kts (pluginManagement). NOT RUN IN THIS REPOSITORY'S
// CI: no Gradle there (see ../README.md).
dependencyResolutionManagement {
    repositories {
        gradlePluginPortal()
    }
}

rootProject.name = "build-logic"
