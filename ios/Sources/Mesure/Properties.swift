import Foundation
import MesureBindings

/// A value Mesure can send as an event property. String, the integer
/// types, Double, Float, CGFloat, Bool, Date, arrays of one of those,
/// `PropertyValue` and optionals of them conform; conform your own types
/// (an enum of sections, say) by returning one of those.
///
/// The `track*` methods take `[String: Any?]`, so any value compiles:
///
///     sdk.trackScreen("article", ["title": title, "words": count, "published": date, "tags": tags])
///
/// - nil (an optional without a value) leaves the property out, silently;
/// - a value of any other type (a `URL`, a `UUID`...) is not sent: it
///   arrives at the core as `PropertyValue.unsupported(typeName:)`, which
///   drops it and reports `Diagnostic.dropped` with reason
///   `unsupported_value`. Nothing throws (strict mode aside).
public protocol PropertyConvertible {
    /// The value as Mesure sends it; nil leaves the property out.
    var mesurePropertyValue: PropertyValue? { get }
}

/// An element of a list property: one list case per element type.
public protocol PropertyListElement: PropertyConvertible {
    /// `values` as one list value.
    static func mesureList(_ values: [Self]) -> PropertyValue
}

extension PropertyValue: PropertyConvertible {
    public var mesurePropertyValue: PropertyValue? { self }
}

extension Optional: PropertyConvertible where Wrapped: PropertyConvertible {
    public var mesurePropertyValue: PropertyValue? { self?.mesurePropertyValue }
}

extension Array: PropertyConvertible where Element: PropertyListElement {
    public var mesurePropertyValue: PropertyValue? { Element.mesureList(self) }
}

extension String: PropertyListElement {
    public var mesurePropertyValue: PropertyValue? { .text(value: self) }
    public static func mesureList(_ values: [String]) -> PropertyValue { .textList(values: values) }
}

extension Substring: PropertyListElement {
    public var mesurePropertyValue: PropertyValue? { .text(value: String(self)) }
    public static func mesureList(_ values: [Substring]) -> PropertyValue { .textList(values: values.map(String.init)) }
}

extension Bool: PropertyListElement {
    public var mesurePropertyValue: PropertyValue? { .flag(value: self) }
    public static func mesureList(_ values: [Bool]) -> PropertyValue { .flagList(values: values) }
}

extension Date: PropertyListElement {
    public var mesurePropertyValue: PropertyValue? { .date(epochMs: Self.epochMs(self)) }
    public static func mesureList(_ values: [Date]) -> PropertyValue { .dateList(epochMs: values.map(epochMs)) }

    /// Milliseconds since the epoch, rounded down (a date before 1970 too),
    /// clamped to what 64 bits hold.
    static func epochMs(_ date: Date) -> Int64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
        if ms >= 9.2e18 { return .max }
        if ms <= -9.2e18 { return .min }
        return Int64(ms)
    }
}

/// The integer types: every value that fits in 64 signed bits is an
/// integer; a `UInt`/`UInt64` above `Int64.max` is sent as a decimal.
public protocol PropertyInteger: PropertyListElement, BinaryInteger {}

extension PropertyInteger {
    public var mesurePropertyValue: PropertyValue? {
        if let v = Int64(exactly: self) { return .integer(value: v) }
        return .decimal(value: Double(self))
    }

    public static func mesureList(_ values: [Self]) -> PropertyValue {
        var ints: [Int64] = []
        ints.reserveCapacity(values.count)
        for v in values {
            guard let i = Int64(exactly: v) else { return .decimalList(values: values.map { Double($0) }) }
            ints.append(i)
        }
        return .integerList(values: ints)
    }
}

extension Int: PropertyInteger {}
extension Int8: PropertyInteger {}
extension Int16: PropertyInteger {}
extension Int32: PropertyInteger {}
extension Int64: PropertyInteger {}
extension UInt: PropertyInteger {}
extension UInt8: PropertyInteger {}
extension UInt16: PropertyInteger {}
extension UInt32: PropertyInteger {}
extension UInt64: PropertyInteger {}

extension Double: PropertyListElement {
    /// NaN and the infinities pass through: the core drops them and
    /// reports `non_finite_number`.
    public var mesurePropertyValue: PropertyValue? { .decimal(value: self) }
    public static func mesureList(_ values: [Double]) -> PropertyValue { .decimalList(values: values) }
}

extension Float: PropertyListElement {
    public var mesurePropertyValue: PropertyValue? { .decimal(value: Self.widened(self)) }
    public static func mesureList(_ values: [Float]) -> PropertyValue { .decimalList(values: values.map(widened)) }

    /// 0.1 as a Float is 0.100000001490116...: sent as the Double nearest
    /// to the Float's shortest decimal form (0.1), which is what was meant.
    static func widened(_ f: Float) -> Double {
        f.isFinite ? Double(f.description) ?? Double(f) : Double(f)
    }
}

extension CGFloat: PropertyListElement {
    public var mesurePropertyValue: PropertyValue? { .decimal(value: Double(self)) }
    public static func mesureList(_ values: [CGFloat]) -> PropertyValue { .decimalList(values: values.map { Double($0) }) }
}

// `["page": "home", "items": 3]` typed as `[String: PropertyValue]`, for
// code that builds property maps of that type.

extension PropertyValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self = .text(value: value)
    }
}

extension PropertyValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) {
        self = .integer(value: value)
    }
}

extension PropertyValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) {
        self = .decimal(value: value)
    }
}

extension PropertyValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) {
        self = .flag(value: value)
    }
}

/// The app's properties on their way to the core, converted on the caller's thread.
enum Properties {
    /// nil values left out, values of other types as `.unsupported(typeName:)`.
    static func map(_ properties: [String: Any?]) -> [String: PropertyValue] {
        properties.compactMapValues { value in value.flatMap(convert) }
    }

    /// The common types first, by concrete cast (a few nanoseconds), then
    /// the protocol (a conformance lookup).
    private static func convert(_ value: Any) -> PropertyValue? {
        switch value {
        case let v as String: return .text(value: v)
        case let v as Int: return .integer(value: Int64(v))
        case let v as Bool: return .flag(value: v)
        case let v as Double: return .decimal(value: v)
        case let v as PropertyConvertible: return v.mesurePropertyValue
        default: return .unsupported(typeName: String(describing: type(of: value)))
        }
    }

    /// The first unsupported value by key, for strict mode: (key, type name).
    static func firstUnsupported(_ map: [String: PropertyValue]) -> (String, String)? {
        map.sorted { $0.key < $1.key }.lazy.compactMap { key, value in
            if case let .unsupported(typeName) = value { return (key, typeName) }
            return nil
        }.first
    }
}
