package eu.mesure.android

import android.app.Application
import android.content.Context
import android.content.pm.ApplicationInfo
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Build
import android.util.Log
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import eu.mesure.HttpUrlConnectionClient
import eu.mesure.LogLevel
import eu.mesure.LogSink
import eu.mesure.Mesure
import eu.mesure.MesureConfigBuilder
import eu.mesure.MesureOptions
import eu.mesure.ProcessGuard
import eu.mesure.SiteStorage
import eu.mesure.ffi.DeviceContext
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.MesureException
import java.io.File
import java.util.concurrent.Executors

/**
 * Android glue: per-site storage, device context, connectivity, lifecycle
 * and Logcat. Call [start] once per site, on the main thread (in
 * `Application.onCreate`); it returns at once.
 *
 * - Mesure runs in the app's main process only. `Application.onCreate` runs
 *   in every process of a multi-process app; in the others [start] returns
 *   null and starts nothing ([ProcessGuard]). The core also locks its
 *   directory: a second start on it throws [MesureException.StorageInUse].
 * - Each site stores its SQLite file in `noBackupFilesDir/mesure/<siteId>`:
 *   never part of Auto Backup, so the visitor id cannot follow the user to
 *   another device. A store kept by an earlier version in
 *   `noBackupFilesDir/mesure` moves into the first site's directory.
 * - The device context comes from `Build` and the display; no identifier of
 *   the device, the OS or the advertising platform is read.
 * - When the app goes to the background the queue is flushed on a
 *   background thread; connectivity changes update the context (neither
 *   blocks the main thread).
 * - Log lines go to Logcat, tag `Mesure`, unless the options name a sink.
 */
public object MesureAndroid {
    private const val TAG = "Mesure"
    private val background = Executors.newSingleThreadExecutor { r -> Thread(r, "mesure-lifecycle").apply { isDaemon = true } }

    /** Logcat, tag `Mesure`: debug lines at DEBUG, problems at WARN. */
    public val logcat: LogSink = LogSink { level, message ->
        Log.println(if (level == LogLevel.WARNING) Log.WARN else Log.DEBUG, TAG, message)
    }

    /**
     * A configuration for [siteId] with the storage directory and the device
     * context filled in; set the rest (dry run, allowlists...) on the builder.
     */
    @JvmStatic
    public fun config(context: Context, collectEndpoint: String, siteId: Long): MesureConfigBuilder {
        val app = context.applicationContext
        val dir = SiteStorage.directory(app.noBackupFilesDir, siteId)
        return MesureConfigBuilder(collectEndpoint, siteId, dir.absolutePath)
            .legacyStorageDir(SiteStorage.legacy(app.noBackupFilesDir).absolutePath)
            .context(deviceContext(app, currentConnectionType(app)))
    }

    /** Starts Mesure for [siteId] with the default options: [HttpUrlConnectionClient], Logcat. */
    @JvmStatic
    @Throws(MesureException::class)
    public fun start(context: Context, collectEndpoint: String, siteId: Long): Mesure? =
        start(context, config(context, collectEndpoint, siteId).build(), MesureOptions.DEFAULT)

    /**
     * Starts Mesure with [config] (from [config]): null in any process but
     * the main one. [options] without an HTTP client get
     * [HttpUrlConnectionClient]; without a log sink, Logcat.
     * @throws MesureException.InvalidConfig naming the field at fault.
     * @throws MesureException.StorageInUse if this site already runs in this process.
     */
    @JvmStatic
    @JvmOverloads
    @Throws(MesureException::class)
    public fun start(context: Context, config: MesureConfig, options: MesureOptions = MesureOptions.DEFAULT): Mesure? {
        val app = context.applicationContext
        val process = processName()
        if (!ProcessGuard.isMainProcess(process, app.packageName)) {
            Log.i(TAG, "not the main process ($process): Mesure is not started here")
            return null
        }
        val platform = options.toBuilder()
            .httpClient(options.httpClient ?: HttpUrlConnectionClient())
            .logSink(options.logSink ?: logcat)
            // A release build's debug log stays off unless forced by name.
            .releaseBuild(app.applicationInfo.flags and ApplicationInfo.FLAG_DEBUGGABLE == 0)
            .build()
        val mesure = Mesure.start(config, platform)
        watchConnectivity(app, mesure, config.context ?: deviceContext(app, null))
        ProcessLifecycleOwner.get().lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onStop(owner: LifecycleOwner) {
                // A flush waits for the network: never on the main thread.
                background.execute {
                    try {
                        mesure.flushBlocking()
                    } catch (e: MesureException) {
                        Log.d(TAG, "flush on stop: ${e.message}")
                    }
                }
            }
        })
        return mesure
    }

    /** This process's name: `Application.getProcessName()` from API 28, `/proc/self/cmdline` before. */
    private fun processName(): String? =
        if (Build.VERSION.SDK_INT >= 28) {
            Application.getProcessName()
        } else {
            runCatching { ProcessGuard.processNameFromCmdline(File("/proc/self/cmdline").readBytes()) }.getOrNull()
        }

    private fun deviceContext(context: Context, connection: String?): DeviceContext {
        val metrics = context.resources.displayMetrics
        val tablet = context.resources.configuration.smallestScreenWidthDp >= 600
        val version = runCatching { context.packageManager.getPackageInfo(context.packageName, 0).versionName }.getOrNull()
        return DeviceContext(
            os = "android",
            osVersion = Build.VERSION.RELEASE,
            deviceBrand = Build.MANUFACTURER,
            deviceModel = Build.MODEL,
            deviceType = if (tablet) "tablet" else "mobile",
            deviceScreenWidth = metrics.widthPixels,
            deviceScreenHeight = metrics.heightPixels,
            appVersion = version,
            connectionType = connection,
            collectionPlatform = "android",
        )
    }

    private fun currentConnectionType(context: Context): String? {
        val cm = context.getSystemService(ConnectivityManager::class.java) ?: return null
        return connectionType(cm.getNetworkCapabilities(cm.activeNetwork))
    }

    private fun connectionType(caps: NetworkCapabilities?): String =
        when {
            caps == null -> "offline"
            caps.hasTransport(NetworkCapabilities.TRANSPORT_WIFI) -> "wifi"
            caps.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR) -> "cellular"
            caps.hasTransport(NetworkCapabilities.TRANSPORT_ETHERNET) -> "ethernet"
            else -> "other"
        }

    private fun watchConnectivity(context: Context, mesure: Mesure, base: DeviceContext) {
        val cm = context.getSystemService(ConnectivityManager::class.java) ?: return
        cm.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
                // Returns at once, applied in order with the app's calls.
                mesure.setContext(base.copy(connectionType = connectionType(caps)))
            }

            override fun onLost(network: Network) {
                mesure.setContext(base.copy(connectionType = "offline"))
            }
        })
    }
}
