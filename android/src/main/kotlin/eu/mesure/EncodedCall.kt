package eu.mesure

import com.sun.jna.Native
import eu.mesure.ffi.ClickKind
import eu.mesure.ffi.PropertyValue

/**
 * A tracking call written into one buffer, in the format of mesure-core's
 * `encoded.rs` (version 1, integers little-endian), and handed to the core
 * in one JNA call ([send]), where the generated `trackScreen` lowers the
 * name and a map of sealed values one by one (five crossings in all, each
 * with JNA structures built by reflection: BENCHMARKS.md, "Tracking
 * through Kotlin").
 * The core decodes it and tracks it as `track`, `trackScreen` or
 * `trackClick`: no rule is applied here.
 */
internal class EncodedCall(kind: Int, name: String) {
    private var bytes = ByteArray(128)
    private var size = 0
    private val countAt: Int
    private var count = 0

    init {
        byte(VERSION)
        byte(kind)
        text(name)
        countAt = size
        int(0)
    }

    /** One property: its key (a null key from Java is sent empty, and the core drops it) and value. */
    fun property(key: String?, value: PropertyValue) {
        text(key ?: "")
        when (value) {
            is PropertyValue.Text -> tagged(0) { text(value.value) }
            is PropertyValue.Integer -> tagged(1) { long(value.value) }
            is PropertyValue.Decimal -> tagged(2) { long(value.value.toRawBits()) }
            is PropertyValue.Flag -> tagged(3) { flag(value.value) }
            is PropertyValue.Date -> tagged(4) { long(value.epochMs) }
            is PropertyValue.TextList -> list(5, value.values) { text(it) }
            is PropertyValue.IntegerList -> list(6, value.values) { long(it) }
            is PropertyValue.DecimalList -> list(7, value.values) { long(it.toRawBits()) }
            is PropertyValue.FlagList -> list(8, value.values) { flag(it) }
            is PropertyValue.DateList -> list(9, value.epochMs) { long(it) }
            is PropertyValue.Unsupported -> tagged(10) { text(value.typeName) }
        }
        count++
    }

    /** The buffer, its property count written in. */
    fun finish(): ByteArray {
        writeCount()
        return bytes.copyOf(size)
    }

    /**
     * Hands the call to the core whose `callKey()` is [key]: [QUEUED],
     * [NOT_SENT], [WAITING], [GONE], [PANICKED], or a refusal's negative
     * ticket (`MesureCore.takeRefusal(-answer)`).
     */
    fun send(key: Long): Long {
        writeCount()
        return FastTrack.mesure_track_encoded(key, bytes, size)
    }

    private fun writeCount() {
        val end = size
        size = countAt
        int(count)
        size = end
    }

    private inline fun tagged(tag: Int, body: () -> Unit) {
        byte(tag)
        body()
    }

    private inline fun <T> list(tag: Int, items: List<T>, item: (T) -> Unit) {
        byte(tag)
        int(items.size)
        for (i in items) item(i)
    }

    private fun room(n: Int) {
        if (size + n > bytes.size) bytes = bytes.copyOf(maxOf(bytes.size * 2, size + n))
    }

    private fun byte(b: Int) {
        room(1)
        bytes[size++] = b.toByte()
    }

    private fun flag(b: Boolean) = byte(if (b) 1 else 0)

    private fun int(v: Int) {
        room(4)
        for (shift in 0 until 32 step 8) bytes[size++] = (v ushr shift).toByte()
    }

    private fun long(v: Long) {
        room(8)
        for (shift in 0 until 64 step 8) bytes[size++] = (v ushr shift).toByte()
    }

    /**
     * UTF-8, written in place; an unpaired surrogate is sent as U+FFFD, as
     * Swift's strings hold it (the generated lowering threw a checked
     * CharacterCodingException out of `track` for it).
     */
    private fun text(s: String) {
        room(4 + s.length * 3)
        val lengthAt = size
        size += 4
        var i = 0
        while (i < s.length) {
            val c = s[i++].code
            when {
                c < 0x80 -> bytes[size++] = c.toByte()
                c < 0x800 -> {
                    bytes[size++] = (0xC0 or (c shr 6)).toByte()
                    bytes[size++] = (0x80 or (c and 0x3F)).toByte()
                }
                c in 0xD800..0xDBFF && i < s.length && s[i].code in 0xDC00..0xDFFF -> {
                    val p = 0x10000 + ((c - 0xD800) shl 10) + (s[i++].code - 0xDC00)
                    bytes[size++] = (0xF0 or (p shr 18)).toByte()
                    bytes[size++] = (0x80 or ((p shr 12) and 0x3F)).toByte()
                    bytes[size++] = (0x80 or ((p shr 6) and 0x3F)).toByte()
                    bytes[size++] = (0x80 or (p and 0x3F)).toByte()
                }
                else -> {
                    val u = if (c in 0xD800..0xDFFF) 0xFFFD else c
                    bytes[size++] = (0xE0 or (u shr 12)).toByte()
                    bytes[size++] = (0x80 or ((u shr 6) and 0x3F)).toByte()
                    bytes[size++] = (0x80 or (u and 0x3F)).toByte()
                }
            }
        }
        val end = size
        size = lengthAt
        int(end - lengthAt - 4)
        size = end
    }

    companion object {
        const val VERSION: Int = 1
        const val TRACK: Int = 0
        const val SCREEN: Int = 1

        fun click(kind: ClickKind): Int = when (kind) {
            ClickKind.ACTION -> 2
            ClickKind.NAVIGATION -> 3
            ClickKind.DOWNLOAD -> 4
            ClickKind.EXIT -> 5
        }

        /** `trackEncoded`'s answers: queued, held back by the mode, waiting for the start; negative: a refusal's ticket. */
        const val QUEUED: Long = 0
        const val NOT_SENT: Long = 1
        const val WAITING: Long = 2

        /** The answer for a key whose core is gone: refused as shut down, with no ticket. */
        const val GONE: Long = Long.MIN_VALUE

        /** The core panicked on the call (a bug): the call is lost. */
        const val PANICKED: Long = Long.MIN_VALUE + 1
    }
}

/**
 * The core's `mesure_track_encoded` (bindings/src/fast.rs), bound by JNA's
 * direct mapping outside the generated bindings: a key, the buffer (JNA
 * copies the array for the call) and its length in, an integer out; no
 * structure to build, no status to read. The library is the one the
 * generated bindings load (the same name, the same override property).
 */
internal object FastTrack {
    init {
        Native.register(FastTrack::class.java, System.getProperty("uniffi.component.mesure_ffi.libraryOverride") ?: "mesure_ffi")
    }

    @Suppress("FunctionName")
    external fun mesure_track_encoded(instance: Long, call: ByteArray, len: Int): Long
}
