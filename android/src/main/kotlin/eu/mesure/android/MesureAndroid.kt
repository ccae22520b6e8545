package eu.mesure.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Build
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.ffi.DeviceContext
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.PlatformHttpClient
import java.io.File
import java.util.concurrent.Executors

/**
 * Android glue: storage, device context, connectivity and lifecycle. Call
 * [start] once, on the main thread (in `Application.onCreate`).
 *
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
        siteId: UInt,
        customize: (MesureConfig) -> MesureConfig = { it },
        httpClient: PlatformHttpClient = HttpUrlConnectionClient(),
        onDiagnostic: ((Diagnostic) -> Unit)? = null,
    ): Mesure {
        val app = context.applicationContext
        val storage = File(app.noBackupFilesDir, "mesure")
        val config = customize(
            MesureConfig(
                collectEndpoint = collectEndpoint,
                siteId = siteId,
                storageDir = storage.absolutePath,
                context = deviceContext(app, currentConnectionType(app)),
            ),
        )
        val mesure = Mesure.start(config, httpClient, onDiagnostic)
        watchConnectivity(app, mesure, config.context ?: deviceContext(app, null))
        ProcessLifecycleOwner.get().lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onStop(owner: LifecycleOwner) {
                // flush() blocks on disk and network: never on the main thread.
                background.execute { runCatching { mesure.flush() } }
            }
        })
        return mesure
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
            deviceScreenWidth = metrics.widthPixels.toUInt(),
            deviceScreenHeight = metrics.heightPixels.toUInt(),
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
