import Foundation
import MesureBindings

/// A value Mesure can send as an event property. String, the integer
/// types, Double, Float, CGFloat, Bool, Date, arrays and sets of one of
/// those, `PropertyValue` and optionals of them conform; conform your own
/// types (an enum of sections, say) by returning one of those. Kotlin's
/// `PropertyConvertible` is the same contract.
///
/// The `track*` methods take `[String: Any?]`, so any value compiles:
///
///     sdk.trackScreen("article", ["title": title, "words": count, "published": date, "tags": tags])
///
/// Each type becomes the `PropertyValue` of one table, the same on Kotlin
/// (docs/PROPERTIES.md):
///
/// - nil (an optional without a value) leaves the property out, silently;
/// - a `UInt`/`UInt64` above `Int64.max` is sent as its exact decimal text;
/// - a `Float` as the `Double` nearest its shortest decimal form (`0.1`);
/// - an array (`[Any]` too) or a set of one kind of value as a list, nils
///   left out, a set sorted; a mix, or a list in a list, is unsupported;
/// - a value of any other type (a `URL`, a `UUID`...) is not sent: it
///   arrives at the core as `PropertyValue.unsupported(typeName:)`, which
///   drops it and reports `Diagnostic.dropped` with reason
///   `unsupported_value`. Nothing throws (strict mode aside).
public protocol PropertyConvertible {
    /// The value as Mesure sends it; nil leaves the property (or the list element) out.
    var mesurePropertyValue: PropertyValue? { get }
}

/// An element of a list property: one list case per element type.
public protocol PropertyListElement: PropertyConvertible {
    /// `values` (not empty: an empty array is an empty text list) as one list value.
    static func mesureList(_ values: [Self]) -> PropertyValue
}

extension PropertyValue: PropertyConvertible {
    public var mesurePropertyValue: PropertyValue? { self }
}

extension Optional: PropertyConvertible where Wrapped: PropertyConvertible {
    public var mesurePropertyValue: PropertyValue? { self?.mesurePropertyValue }
}

extension Array: PropertyConvertible where Element: PropertyListElement {
    /// An empty array is an empty list of texts, whatever its element type,
    /// as on Kotlin (whose lists do not know theirs).
    public var mesurePropertyValue: PropertyValue? { isEmpty ? .textList(values: []) : Element.mesureList(self) }
}

extension Set: PropertyConvertible where Element: PropertyListElement {
    /// Sorted: a set's order changes with every process.
    public var mesurePropertyValue: PropertyValue? {
        Properties.list(map { Optional<Any>.some($0) }, typeName: String(describing: Self.self), sorted: true)
    }
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
    public var mesurePropertyValue: PropertyValue? {
        Self.epochMs(self).map { .date(epochMs: $0) } ?? .unsupported(typeName: "Date out of range")
    }

    public static func mesureList(_ values: [Date]) -> PropertyValue {
        var ms: [Int64] = []
        ms.reserveCapacity(values.count)
        for date in values {
            guard let m = epochMs(date) else { return .unsupported(typeName: "\(String(describing: [Date].self)) of Date") }
            ms.append(m)
        }
        return .dateList(epochMs: ms)
    }

    /// Milliseconds since the epoch, rounded down (a date before 1970 too);
    /// nil beyond what 64 bits hold, as Kotlin's `Instant.toEpochMilli`.
    static func epochMs(_ date: Date) -> Int64? {
        Int64(exactly: (date.timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// The integer types: every value that fits in 64 signed bits is an
/// integer; a `UInt`/`UInt64` above `Int64.max` is sent as its exact
/// decimal text ("18446744073709551615"), never a rounded double, as
/// Kotlin's `ULong`.
public protocol PropertyInteger: PropertyListElement, BinaryInteger {}

extension PropertyInteger {
    public var mesurePropertyValue: PropertyValue? {
        if let v = Int64(exactly: self) { return .integer(value: v) }
        return .text(value: String(self))
    }

    /// A list of integers of which one is above `Int64.max`: the exact decimal text of each.
    public static func mesureList(_ values: [Self]) -> PropertyValue {
        var ints: [Int64] = []
        ints.reserveCapacity(values.count)
        for v in values {
            guard let i = Int64(exactly: v) else { return .textList(values: values.map { String($0) }) }
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
    /// to the Float's shortest decimal form (0.1), which is what was meant
    /// (Kotlin computes the same decimal).
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

/// The app's properties on their way to the core, converted on the
/// caller's thread, by the table Kotlin follows too (docs/PROPERTIES.md).
enum Properties {
    /// nil values left out, values of other types as `.unsupported(typeName:)`.
    static func map(_ properties: [String: Any?]) -> [String: PropertyValue] {
        properties.compactMapValues { value in value.flatMap(convert) }
    }

    /// One value of the app's dictionary (nil: left out).
    static func value(_ value: Any?) -> PropertyValue? {
        value.flatMap(convert)
    }

    /// The common types first, by concrete cast (a few nanoseconds), then
    /// the protocol (a conformance lookup), then the arrays and sets of
    /// other elements (`[Any]`, `[String?]`, `Set<AnyHashable>`...).
    private static func convert(_ value: Any) -> PropertyValue? {
        switch value {
        case let v as String: return .text(value: v)
        case let v as Int: return .integer(value: Int64(v))
        case let v as Bool: return .flag(value: v)
        case let v as Double: return .decimal(value: v)
        case let v as PropertyConvertible: return v.mesurePropertyValue
        case let v as Set<AnyHashable>: return list(v.map { Optional($0.base) }, typeName: String(describing: type(of: value)), sorted: true)
        case let v as [Any?]: return list(v, typeName: String(describing: type(of: value)), sorted: false)
        default: return .unsupported(typeName: String(describing: type(of: value)))
        }
    }

    /// An element of a list, converted.
    private enum Item {
        case value(PropertyValue)
        /// A `UInt`/`UInt64` above `Int64.max`: a number until the kind of the list is known.
        case unsigned(UInt64)
    }

    /// A list of one kind of value, as Kotlin's: its elements converted as
    /// values (nils, and convertibles with nothing to send, left out), in
    /// their order, or sorted for a set. Integers and decimals make a list
    /// of decimals; integers of which one is above `Int64.max`, a list of
    /// their exact decimal texts; no element, an empty list of texts.
    /// Anything else (a mix, a list in a list, an unsupported element) is
    /// unsupported, named by the types of its elements.
    static func list(_ items: [Any?], typeName: String, sorted: Bool) -> PropertyValue {
        var values: [Item] = []
        values.reserveCapacity(items.count)
        var elementTypes = Set<String>()
        for case let item? in items {
            elementTypes.insert(String(describing: type(of: item)))
            if let u = item as? UInt64, u > Int64.max {
                values.append(.unsigned(u))
            } else if let u = item as? UInt, u > Int64.max {
                values.append(.unsigned(UInt64(u)))
            } else if let v = convert(item) {
                values.append(.value(v))
            }
        }
        /// Each element through `f`, or nil if one does not fit.
        func all<T>(_ f: (Item) -> T?) -> [T]? {
            var out: [T] = []
            out.reserveCapacity(values.count)
            for v in values {
                guard let x = f(v) else { return nil }
                out.append(x)
            }
            return out
        }
        if values.isEmpty { return .textList(values: []) }
        if let texts = all({ (item: Item) -> String? in if case let .value(.text(s)) = item { return s }; return nil }) {
            // By Unicode scalar, as Kotlin compares code points (not String's `<`, which normalises).
            return .textList(values: sorted ? texts.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) } : texts)
        }
        if let ints = all({ (item: Item) -> Int64? in if case let .value(.integer(i)) = item { return i }; return nil }) {
            return .integerList(values: sorted ? ints.sorted() : ints)
        }
        // (0, an Int64) or (1, a UInt64 above Int64.max): in numeric order as they stand.
        if let whole = all({ (item: Item) -> (Int, Int64, UInt64)? in
            switch item {
            case let .value(.integer(i)): return (0, i, 0)
            case let .unsigned(u): return (1, 0, u)
            default: return nil
            }
        }) {
            let ordered = sorted ? whole.sorted { $0 < $1 } : whole
            return .textList(values: ordered.map { $0.0 == 0 ? String($0.1) : String($0.2) })
        }
        if let numbers = all({ (item: Item) -> Double? in
            switch item {
            case let .value(.integer(i)): return Double(i)
            case let .value(.decimal(d)): return d
            default: return nil
            }
        }) {
            return .decimalList(values: sorted ? numbers.sorted(by: ascending) : numbers)
        }
        if let flags = all({ (item: Item) -> Bool? in if case let .value(.flag(b)) = item { return b }; return nil }) {
            return .flagList(values: sorted ? flags.sorted { !$0 && $1 } : flags)
        }
        if let dates = all({ (item: Item) -> Int64? in if case let .value(.date(ms)) = item { return ms }; return nil }) {
            return .dateList(epochMs: sorted ? dates.sorted() : dates)
        }
        return .unsupported(typeName: "\(typeName) of \(elementTypes.sorted().joined(separator: " and "))")
    }

    /// Ascending as Kotlin's `Double.compareTo`: -0.0 before 0.0, NaN last.
    private static func ascending(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN { return false }
        if b.isNaN { return true }
        if a == b { return a.sign == .minus && b.sign == .plus }
        return a < b
    }

    /// The first unsupported value by key, for strict mode: (key, type name).
    static func firstUnsupported(_ map: [String: PropertyValue]) -> (String, String)? {
        map.sorted { $0.key < $1.key }.lazy.compactMap { key, value in
            if case let .unsupported(typeName) = value { return (key, typeName) }
            return nil
        }.first
    }
}
