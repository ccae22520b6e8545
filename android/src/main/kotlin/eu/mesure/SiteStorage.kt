package eu.mesure

import java.io.File

/**
 * Where each site's SDK keeps its files: `<base>/mesure/<siteId>` (on
 * Android, `base` is `noBackupFilesDir`). One instance per site id, so two
 * sites side by side each have their own directory, lock, visitor id and
 * choice. A store left by a version that kept one directory for all
 * (`<base>/mesure`) is moved by the core, which knows its own files and
 * moves it only into the site it belongs to ([legacy], passed as the
 * configuration's `legacyStorageDir`). Pure JVM, so the JVM suite tests it.
 */
internal object SiteStorage {
    /** The site's directory. */
    fun directory(base: File, siteId: Long): File = File(File(base, "mesure"), siteId.toString())

    /** Where an earlier version kept the store of the app. */
    fun legacy(base: File): File = File(base, "mesure")
}
