package eu.mesure

/**
 * Which process may run Mesure: the app's main process only.
 *
 * Android runs `Application.onCreate` in every process of a multi-process app
 * (a `:sync` service, a `:remote` widget host). Two SDKs on one storage
 * directory would each hold the visitor's choice in memory: one opts out,
 * the other keeps sending the visitor id. The core refuses a second instance
 * on a directory ([eu.mesure.ffi.MesureException.StorageInUse]); this guard
 * keeps the other processes from trying at all, as Glean asks its users to
 * initialise it in the main process only.
 *
 * Pure Kotlin, so the JVM suite tests it with made-up process names.
 */
public object ProcessGuard {
    /**
     * Whether [processName] is the main process of the app [packageName]: the
     * main process is named after the package; the others add `:suffix` (or
     * a full name of their own). An unknown name counts as main: the core's
     * directory lock still refuses a second instance.
     */
    @JvmStatic
    public fun isMainProcess(processName: String?, packageName: String): Boolean =
        processName.isNullOrEmpty() || processName == packageName

    /** The process name from the bytes of `/proc/self/cmdline` (before API 28). */
    @JvmStatic
    public fun processNameFromCmdline(cmdline: ByteArray): String? {
        val end = cmdline.indexOf(0.toByte()).let { if (it < 0) cmdline.size else it }
        return String(cmdline, 0, end, Charsets.UTF_8).trim().ifEmpty { null }
    }
}
