package eu.mesure

import com.sun.jna.Callback
import com.sun.jna.CallbackReference
import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native

/**
 * Keeps the SDK's own threads attached to the JVM, under their names.
 *
 * The core calls the listener from its thread `mesure-listener` and the
 * HTTP client from `mesure-uploader`: native threads. By default JNA
 * attaches such a thread to the JVM for one callback and detaches it
 * after, so every diagnostic arrived on a new `Thread-N` (a thread object,
 * a name and a JNI attach each time). A [CallbackThreadInitializer] on the
 * generated callback objects keeps the thread attached (a daemon, so the
 * JVM still exits) and named; JNA detaches it when the native thread ends
 * (at [Mesure.close]).
 *
 * The generated callback objects are internal to the bindings (compiled on
 * their own: UniFFI's Kotlin has no explicit visibility, so it cannot be
 * compiled in explicit-API mode with the wrapper), hence the reflection.
 * If UniFFI renames them, nothing breaks but the names (a warning is
 * logged), and the JVM suite's thread test fails.
 *
 * JNA marks a callback as having an initializer when it makes the
 * callback's native pointer, which the bindings do when they load (their
 * first call). [Mesure.start] registers before its first call; if the app
 * called the bindings earlier, the mark is set on the existing pointer
 * through JNA's own (private) setter.
 */
internal object CallbackThreads {
    private val registered = java.util.concurrent.atomic.AtomicBoolean(false)

    /** The generated holders of each callback interface's methods, and the thread that calls them. */
    private val THREADS = listOf(
        "eu.mesure.ffi.uniffiCallbackInterfaceMesureListener" to "mesure-listener",
        "eu.mesure.ffi.uniffiCallbackInterfacePlatformHttpClient" to "mesure-uploader",
    )

    /** Once per process. Returns what went wrong, if anything. */
    fun register(): String? {
        if (!registered.compareAndSet(false, true)) return null
        val problems = THREADS.mapNotNull { (holder, name) ->
            try {
                val methods = Class.forName(holder).declaredClasses
                    // The interface's methods only: the free and clone callbacks
                    // may run on any thread, which must not take this name.
                    .filter { Callback::class.java.isAssignableFrom(it) && !it.simpleName.startsWith("uniffi") }
                    .map { it.getField("INSTANCE").get(null) as Callback }
                if (methods.isEmpty()) return@mapNotNull "$holder has no callback method"
                val initializer = CallbackThreadInitializer(true, false, name)
                methods.forEach {
                    Native.setCallbackThreadInitializer(it, initializer)
                    markIfAlreadyBound(it)
                }
                null
            } catch (e: ReflectiveOperationException) {
                "$holder: $e"
            } catch (e: RuntimeException) {
                "$holder: $e"
            }
        }
        return problems.takeIf { it.isNotEmpty() }?.joinToString("; ", prefix = "callback threads keep JNA's default names: ")
    }

    /** `Native.CB_HAS_INITIALIZER`: the native code asks the initializer when it attaches a thread. */
    private const val CB_HAS_INITIALIZER = 1

    /** Sets JNA's initializer mark on a callback whose native pointer already exists. */
    private fun markIfAlreadyBound(callback: Callback) {
        val type = CallbackReference::class.java
        fun field(name: String) = type.getDeclaredField(name).apply { isAccessible = true }.get(null) as Map<*, *>
        // JNA guards its callback maps with this one's monitor.
        val guard = field("pointerCallbackMap")
        for (mapName in listOf("callbackMap", "directCallbackMap")) {
            val map = field(mapName)
            val reference = synchronized(guard) { map[callback] } ?: continue
            type.getDeclaredMethod("setCallbackOptions", Int::class.javaPrimitiveType)
                .apply { isAccessible = true }
                .invoke(reference, CB_HAS_INITIALIZER)
        }
    }
}
