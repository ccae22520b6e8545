package eu.mesure

import java.io.File

/**
 * Where each site's SDK keeps its files: `<base>/mesure/<siteId>` (on
 * Android, `base` is `noBackupFilesDir`). One instance per site id, so two
 * sites side by side each have their own directory, lock, visitor id and
 * choice. Pure JVM, so the JVM suite tests it.
 */
internal object SiteStorage {
    /** The files of the store, as the core names them (`mesure.sqlite3` and SQLite's companions). */
    private val DATABASE_FILES = listOf("mesure.sqlite3", "mesure.sqlite3-wal", "mesure.sqlite3-shm", "mesure.sqlite3-journal")

    /**
     * The site's directory. A store left by a version that kept one
     * directory for all (`<base>/mesure`, one site at most) moves into the
     * first site's directory, so a visitor's choice (an opt-out) and id
     * survive the update; the renames cost microseconds and happen once.
     * Returns the directory, and what could not be moved, if anything.
     */
    fun directory(base: File, siteId: Long): Pair<File, String?> {
        val root = File(base, "mesure")
        val dir = File(root, siteId.toString())
        if (!File(root, DATABASE_FILES[0]).exists() || File(dir, DATABASE_FILES[0]).exists()) return dir to null
        if (!createPrivateDirectory(dir)) return dir to "cannot create $dir to move the store of $root into it"
        val failed = DATABASE_FILES.map { File(root, it) }.filter { it.exists() && !it.renameTo(File(dir, it.name)) }
        return dir to failed.takeIf { it.isNotEmpty() }?.let { "could not move ${it.joinToString()} into $dir" }
    }

    /** Creates [dir] `0700`, as the core creates its directories (the moved files are `0600` already). */
    private fun createPrivateDirectory(dir: File): Boolean = try {
        val owner = java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")
        java.nio.file.Files.createDirectories(dir.toPath(), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(owner))
        true
    } catch (_: UnsupportedOperationException) {
        dir.isDirectory || dir.mkdirs()
    } catch (_: java.io.IOException) {
        false
    }
}
