// What both artifacts publish alike, written once: the POM's licence,
// developers, SCM and URL (`mesure.repositoryUrl` in ../gradle.properties),
// and signing when a key is set. Each module registers its own publication
// (artifact id, component, name, description); this fills in the rest of
// every Maven publication of the project it is applied to.

plugins {
    `maven-publish`
    signing
}

val repository: Provider<String> = providers.gradleProperty("mesure.repositoryUrl")

publishing.publications.withType<MavenPublication>().configureEach {
    pom {
        url.set(repository)
        licenses {
            license {
                name.set("Apache-2.0")
                url.set("https://www.apache.org/licenses/LICENSE-2.0.txt")
            }
        }
        developers {
            developer {
                id.set("mesure")
                name.set("The Mesure maintainers")
            }
        }
        scm {
            url.set(repository)
            connection.set(repository.map { "scm:git:$it.git" })
        }
    }
}

signing {
    // Active only when a key is configured (ORG_GRADLE_PROJECT_signingKey, ..._signingPassword).
    val key = providers.gradleProperty("signingKey").orNull
    isRequired = key != null
    if (key != null) {
        useInMemoryPgpKeys(key, providers.gradleProperty("signingPassword").orNull)
        // Live: the publications the module registers after this plugin are signed too.
        sign(publishing.publications)
    }
}
