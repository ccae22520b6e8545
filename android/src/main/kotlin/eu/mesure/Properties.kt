package eu.mesure

import eu.mesure.ffi.PropertyValue

/**
 * Converts Kotlin values to the SDK's property values. A value of another
 * type is a programming error and throws [IllegalArgumentException] at the
 * call site, before anything is queued.
 */
internal fun Map<String, Any?>.toPropertyValues(): Map<String, PropertyValue> =
    mapNotNull { (key, value) -> value?.let { key to it.toPropertyValue(key) } }.toMap()

internal fun Any.toPropertyValue(key: String): PropertyValue = when (this) {
    is PropertyValue -> this
    is String -> PropertyValue.Text(this)
    is Int -> PropertyValue.Integer(toLong())
    is Long -> PropertyValue.Integer(this)
    is Short -> PropertyValue.Integer(toLong())
    is Byte -> PropertyValue.Integer(toLong())
    is Double -> PropertyValue.Decimal(this)
    is Float -> PropertyValue.Decimal(toDouble())
    is Boolean -> PropertyValue.Flag(this)
    is java.util.Date -> PropertyValue.Date(time)
    is java.time.Instant -> PropertyValue.Date(toEpochMilli())
    is List<*> -> listValue(key, this)
    is Array<*> -> listValue(key, toList())
    else -> throw IllegalArgumentException("property '$key': unsupported type ${this::class.java.name}")
}

private fun listValue(key: String, list: List<*>): PropertyValue {
    val items = list.filterNotNull()
    return when {
        items.all { it is String } -> PropertyValue.TextList(items.map { it as String })
        items.all { it is Int || it is Long || it is Short || it is Byte } -> PropertyValue.IntegerList(items.map { (it as Number).toLong() })
        items.all { it is Number } -> PropertyValue.DecimalList(items.map { (it as Number).toDouble() })
        items.all { it is Boolean } -> PropertyValue.FlagList(items.map { it as Boolean })
        items.all { it is java.util.Date } -> PropertyValue.DateList(items.map { (it as java.util.Date).time })
        items.all { it is java.time.Instant } -> PropertyValue.DateList(items.map { (it as java.time.Instant).toEpochMilli() })
        else -> throw IllegalArgumentException("property '$key': lists must hold one type (strings, numbers, booleans or dates)")
    }
}
