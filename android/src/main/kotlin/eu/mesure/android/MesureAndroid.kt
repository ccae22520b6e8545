package eu.mesure.android

import android.app.Application
import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Build
import android.util.Log
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.ProcessGuard
import eu.mesure.ffi.DeviceContext
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.PlatformHttpClient
import java.io.File
import java.util.concurrent.Executors

/**
 * Android glue: storage, device context, connectivity and lifecycle. Call
 * [start] once, on the main thread (in `Application.onCreate`).
 *
 * - Mesure runs in the app's main process only. `Application.onCreate` runs in
 *   every process of a multi-process app; in the others [start] returns null
 *   and starts nothing ([ProcessGuard]). Two SDKs on one directory would each
 *   keep the visitor's choice in memory; the core refuses the second anyway
 *   (`StorageInUse`), and [start] then returns null too.
 * - The SDK stores its SQLite file in `noBackupFilesDir/mesure`: never part of
 *   Auto Backup, so the visitor id cannot follow the user to another device.
 * - The device context comes from `Build` and the display; no identifier of
 *   the device, the OS or the advertising platform is read.
 * - When the app goes to the background the queue is flushed on a background
 *   thread.
 */
object MesureAndroid {
    private val background = Executors.newSingleThreadExecutor { r -> Thread(r, "mesure-lifecycle").apply { isDaemon = true } }

    @JvmStatic
    @JvmOverloads
    fun start(
        context: Context,
        collectEndpoint: String,
        siteId: Long,
        customize: (MesureConfig) -> MesureConfig = { it },
        httpClient: PlatformHttpClient = HttpUrlConnectionClient(),
        onDiagnostic: ((Diagnostic) -> Unit)? = null,
    ): Mesure? {
        val app = context.applicationContext
        if (!ProcessGuard.isMainProcess(processName(), app.packageName)) {
            Log.i(TAG, "not the main process (${processName()}): Mesure is not started here")
            return null
        }
        val storage = File(app.noBackupFilesDir, "mesure")
        val config = customize(
            MesureConfig(
                collectEndpoint = collectEndpoint,
                siteId = siteId,
                storageDir = storage.absolutePath,
                context = deviceContext(app, currentConnectionType(app)),
            ),
        )
        val mesure = try {
            Mesure.start(config, httpClient, onDiagnostic)
        } catch (e: MesureException.StorageInUse) {
            Log.w(TAG, "another Mesure instance holds ${e.dir}: not started", e)
            return null
        }
        watchConnectivity(app, mesure, config.context ?: deviceContext(app, null))
        ProcessLifecycleOwner.get().lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onStop(owner: LifecycleOwner) {
                // flush() blocks on disk and network: never on the main thread.
                background.execute { runCatching { mesure.flush() } }
            }
        })
        return mesure
    }

    private const val TAG = "Mesure"

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
                // The callback hands the capabilities over: no need to ask again.
                runCatching { mesure.setContext(base.copy(connectionType = connectionType(caps))) }
            }

            override fun onLost(network: Network) {
                runCatching { mesure.setContext(base.copy(connectionType = "offline")) }
            }
        })
    }
}
