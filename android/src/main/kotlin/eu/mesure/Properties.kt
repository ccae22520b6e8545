package eu.mesure

import eu.mesure.ffi.PropertyValue
import java.math.BigDecimal
import java.math.MathContext
import java.math.RoundingMode

/**
 * An app type that converts itself to a property value (an enum of
 * sections, say), as Swift's `PropertyConvertible`. Honoured as a value
 * and as an element of a list or set.
 */
public fun interface PropertyConvertible {
    /** The value as Mesure sends it; null leaves the property (or the list element) out. */
    public fun toPropertyValue(): PropertyValue?
}

/**
 * One value of an app's property map, converted on the caller's thread (so
 * later changes to the app's objects do not reach the hit) by the table
 * that Swift follows too: docs/PROPERTIES.md. Never throws (an app's
 * [PropertyConvertible] aside): a value of a type the SDK cannot send
 * becomes [PropertyValue.Unsupported], which the core drops and reports
 * (`Dropped`, `unsupported_value`). Null: a [PropertyConvertible] has
 * nothing to send (a null value is left out by the caller).
 */
internal fun propertyValue(value: Any): PropertyValue? = when (value) {
    is String -> PropertyValue.Text(value)
    is Int -> PropertyValue.Integer(value.toLong())
    is Long -> PropertyValue.Integer(value)
    is Double -> PropertyValue.Decimal(value)
    is Boolean -> PropertyValue.Flag(value)
    is Float -> PropertyValue.Decimal(widened(value))
    is Short -> PropertyValue.Integer(value.toLong())
    is Byte -> PropertyValue.Integer(value.toLong())
    is UInt -> PropertyValue.Integer(value.toLong())
    is UShort -> PropertyValue.Integer(value.toLong())
    is UByte -> PropertyValue.Integer(value.toLong())
    is ULong -> if (value <= LONG_MAX) PropertyValue.Integer(value.toLong()) else PropertyValue.Text(value.toString())
    is java.util.Date -> PropertyValue.Date(value.time)
    is java.time.Instant -> dateOf(value)
    is PropertyValue -> value
    is PropertyConvertible -> value.toPropertyValue()
    // Unsigned arrays (ULongArray...) are collections too.
    is Set<*> -> listValue(value, value.javaClass.name, sorted = true)
    is Collection<*> -> listValue(value, value.javaClass.name, sorted = false)
    is Array<*> -> listValue(value.asList(), value.javaClass.name, sorted = false)
    is IntArray -> listValue(value.asList(), value.javaClass.name, sorted = false)
    is LongArray -> listValue(value.asList(), value.javaClass.name, sorted = false)
    is ShortArray -> listValue(value.asList(), value.javaClass.name, sorted = false)
    is ByteArray -> listValue(value.asList(), value.javaClass.name, sorted = false)
    is DoubleArray -> listValue(value.asList(), value.javaClass.name, sorted = false)
    is FloatArray -> listValue(value.asList(), value.javaClass.name, sorted = false)
    is BooleanArray -> listValue(value.asList(), value.javaClass.name, sorted = false)
    else -> PropertyValue.Unsupported(value.javaClass.name)
}

private val LONG_MAX: ULong = Long.MAX_VALUE.toULong()

/**
 * The Double nearest to the shortest decimal that reads back as [f] (and,
 * of two such, the nearer to [f]): 0.1f, 0.100000001490116..., leaves as
 * 0.1, what Swift's `Float.description` writes. Not `f.toString()`: before
 * JDK 19, and on Android, it is not always the shortest (1.1884683E13f
 * prints as 1.18846831E13).
 */
private fun widened(f: Float): Double {
    if (!f.isFinite() || f == 0f) return f.toDouble()
    val exact = BigDecimal(f.toDouble())
    for (digits in 1..9) {
        val nearest = exact.round(MathContext(digits, RoundingMode.HALF_EVEN))
        if (nearest.toFloat() == f) return nearest.toDouble()
        // At a power of two the Floats below are closer together than those
        // above: the decimal on the other side may read back when the nearest does not.
        val other = exact.round(MathContext(digits, if (nearest > exact) RoundingMode.FLOOR else RoundingMode.CEILING))
        if (other.toFloat() == f) return other.toDouble()
    }
    return f.toDouble() // not reached: 9 digits always read back
}

/** An instant outside the range of epoch milliseconds cannot be sent. */
private fun dateOf(instant: java.time.Instant): PropertyValue =
    try {
        PropertyValue.Date(instant.toEpochMilli())
    } catch (_: ArithmeticException) {
        PropertyValue.Unsupported("java.time.Instant out of range")
    }

/**
 * A list of one kind of value, its elements converted as values (nulls,
 * and convertibles with nothing to send, left out), in their order, or
 * sorted for a set (a set's order means nothing, and Swift's changes with
 * every process). Integers and decimals make a list of decimals; integers
 * of which one is above Long.MAX_VALUE, a list of their exact decimal
 * texts; an empty list is an empty list of texts. Anything else (a mix, a
 * list in a list, an unsupported element) is unsupported, named by the
 * types of its elements.
 */
private fun listValue(items: Collection<*>, typeName: String, sorted: Boolean): PropertyValue {
    // An unsigned integer above Long.MAX_VALUE stays a number until the kind of the list is known.
    val values: List<Any> = items.mapNotNull { item -> if (item is ULong && item > LONG_MAX) item else item?.let(::propertyValue) }
    return when {
        values.isEmpty() -> PropertyValue.TextList(emptyList())
        values.all { it is PropertyValue.Text } ->
            PropertyValue.TextList(values.map { (it as PropertyValue.Text).value }.let { if (sorted) it.sortedWith(BY_CODE_POINT) else it })
        values.all { it is PropertyValue.Integer } -> PropertyValue.IntegerList(values.map { (it as PropertyValue.Integer).value }.sortedIf(sorted))
        values.all { it is PropertyValue.Integer || it is ULong } ->
            PropertyValue.TextList(values.map { if (it is ULong) it.toString().toBigInteger() else (it as PropertyValue.Integer).value.toBigInteger() }.sortedIf(sorted).map { it.toString() })
        values.all { it is PropertyValue.Integer || it is PropertyValue.Decimal } ->
            PropertyValue.DecimalList(values.map { if (it is PropertyValue.Integer) it.value.toDouble() else (it as PropertyValue.Decimal).value }.sortedIf(sorted))
        values.all { it is PropertyValue.Flag } -> PropertyValue.FlagList(values.map { (it as PropertyValue.Flag).value }.sortedIf(sorted))
        values.all { it is PropertyValue.Date } -> PropertyValue.DateList(values.map { (it as PropertyValue.Date).epochMs }.sortedIf(sorted))
        else -> PropertyValue.Unsupported("$typeName of " + items.filterNotNull().map { it.javaClass.name }.distinct().sorted().joinToString(" and "))
    }
}

/** Ascending; decimals as `Double.compareTo` orders them (-0.0 before 0.0, NaN last), false before true. */
private fun <T : Comparable<T>> List<T>.sortedIf(sorted: Boolean): List<T> = if (sorted) sorted() else this

/** Texts by Unicode code point, as Swift orders scalars (UTF-16 units would put U+1F600 before U+FF21). */
private val BY_CODE_POINT = Comparator<String> { a, b ->
    var i = 0
    var j = 0
    while (i < a.length && j < b.length) {
        val x = a.codePointAt(i)
        val y = b.codePointAt(j)
        if (x != y) return@Comparator x.compareTo(y)
        i += Character.charCount(x)
        j += Character.charCount(y)
    }
    (a.length - i).compareTo(b.length - j)
}
