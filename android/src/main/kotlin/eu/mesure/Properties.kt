package eu.mesure

import eu.mesure.ffi.PropertyValue

/**
 * Converts an app's property map to the SDK's values, on the caller's
 * thread (so later changes to the app's objects do not reach the hit).
 * Never throws: a null value is left out; a value of a type the SDK cannot
 * send becomes [PropertyValue.Unsupported], which the core drops and
 * reports (`Dropped`, `unsupported_value`); a null key (possible from Java)
 * becomes the empty key, which the core drops and reports (`invalid_name`).
 *
 * Sent: String; Int, Long, Short, Byte; Float, Double; Boolean;
 * java.util.Date and java.time.Instant (sent as whole seconds since the
 * epoch, rounded down: the collector's date format); lists and arrays of
 * one of those (primitive arrays included), nulls in them left out.
 */
internal fun Map<String, Any?>.toPropertyValues(): Map<String, PropertyValue> {
    val out = HashMap<String, PropertyValue>(size * 2)
    for (entry in entries) {
        val value = entry.value ?: continue
        val key: String? = entry.key
        out[key ?: ""] = propertyValue(value)
    }
    return out
}

internal fun propertyValue(value: Any): PropertyValue = when (value) {
    is String -> PropertyValue.Text(value)
    is Int -> PropertyValue.Integer(value.toLong())
    is Long -> PropertyValue.Integer(value)
    is Double -> PropertyValue.Decimal(value)
    is Boolean -> PropertyValue.Flag(value)
    is Float -> PropertyValue.Decimal(value.toDouble())
    is Short -> PropertyValue.Integer(value.toLong())
    is Byte -> PropertyValue.Integer(value.toLong())
    is java.util.Date -> PropertyValue.Date(value.time)
    is java.time.Instant -> dateOf(value)
    is PropertyValue -> value
    is Collection<*> -> listValue(value, value.javaClass.name)
    is Array<*> -> listValue(value.asList(), value.javaClass.name)
    is IntArray -> PropertyValue.IntegerList(value.map { it.toLong() })
    is LongArray -> PropertyValue.IntegerList(value.toList())
    is ShortArray -> PropertyValue.IntegerList(value.map { it.toLong() })
    is ByteArray -> PropertyValue.IntegerList(value.map { it.toLong() })
    is DoubleArray -> PropertyValue.DecimalList(value.toList())
    is FloatArray -> PropertyValue.DecimalList(value.map { it.toDouble() })
    is BooleanArray -> PropertyValue.FlagList(value.toList())
    else -> PropertyValue.Unsupported(value.javaClass.name)
}

/** An instant outside the range of epoch milliseconds cannot be sent. */
private fun dateOf(instant: java.time.Instant): PropertyValue =
    try {
        PropertyValue.Date(instant.toEpochMilli())
    } catch (_: ArithmeticException) {
        PropertyValue.Unsupported("java.time.Instant out of range")
    }

/** A list of one kind of value; a mix is unsupported (named by its element types). */
private fun listValue(list: Collection<*>, typeName: String): PropertyValue {
    val items = list.filterNotNull()
    return when {
        items.all { it is String } -> PropertyValue.TextList(items.map { it as String })
        items.all { it is Int || it is Long || it is Short || it is Byte } -> PropertyValue.IntegerList(items.map { (it as Number).toLong() })
        items.all { it is Int || it is Long || it is Short || it is Byte || it is Float || it is Double } ->
            PropertyValue.DecimalList(items.map { (it as Number).toDouble() })
        items.all { it is Boolean } -> PropertyValue.FlagList(items.map { it as Boolean })
        items.all { it is java.util.Date } -> PropertyValue.DateList(items.map { (it as java.util.Date).time })
        items.all { it is java.time.Instant } -> {
            val dates = items.map { dateOf(it as java.time.Instant) }
            if (dates.all { it is PropertyValue.Date }) PropertyValue.DateList(dates.map { (it as PropertyValue.Date).epochMs }) else dates.first { it !is PropertyValue.Date }
        }
        else -> PropertyValue.Unsupported("$typeName of " + items.map { it.javaClass.name }.distinct().sorted().joinToString(" and "))
    }
}
