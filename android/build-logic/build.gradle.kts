// src/main/kotlin/<id>.gradle.kts becomes the plugin <id>.
plugins {
    `kotlin-dsl`
}
