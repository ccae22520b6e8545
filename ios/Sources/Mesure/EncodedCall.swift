import Foundation
import MesureBindings

/// A tracking call written into one buffer, in the format of mesure-core's
/// `encoded.rs` (version 1, integers little-endian), for the core's
/// `trackEncoded`: one buffer and one call cross the FFI, where the
/// generated `trackScreen` lowers the name and a dictionary of enum values
/// one by one. The core decodes it and tracks it as `track`, `trackScreen`
/// or `trackClick`: no rule is applied here.
struct EncodedCall {
    static let version: UInt8 = 1
    static let track: UInt8 = 0
    static let screen: UInt8 = 1

    static func click(_ kind: ClickKind) -> UInt8 {
        switch kind {
        case .action: return 2
        case .navigation: return 3
        case .download: return 4
        case .exit: return 5
        }
    }

    /// `trackEncoded`'s answers: queued, held back by the mode, waiting for
    /// the start; negative: a refusal's ticket (`takeRefusal(-answer)`).
    static let queued: Int64 = 0
    static let notSent: Int64 = 1
    static let waiting: Int64 = 2
    /// The answer for a key whose core is gone: refused as shut down, with no ticket.
    static let gone: Int64 = .min

    private var bytes: [UInt8] = []
    private var countAt = 0
    private var count: UInt32 = 0

    init(kind: UInt8, name: String) {
        bytes.reserveCapacity(128)
        bytes.append(Self.version)
        bytes.append(kind)
        text(name)
        countAt = bytes.count
        int(0)
    }

    mutating func property(_ key: String, _ value: PropertyValue) {
        text(key)
        switch value {
        case let .text(v): bytes.append(0); text(v)
        case let .integer(v): bytes.append(1); long(UInt64(bitPattern: v))
        case let .decimal(v): bytes.append(2); long(v.bitPattern)
        case let .flag(v): bytes.append(3); bytes.append(v ? 1 : 0)
        case let .date(ms): bytes.append(4); long(UInt64(bitPattern: ms))
        case let .textList(vs): list(5, vs) { $0.text($1) }
        case let .integerList(vs): list(6, vs) { $0.long(UInt64(bitPattern: $1)) }
        case let .decimalList(vs): list(7, vs) { $0.long($1.bitPattern) }
        case let .flagList(vs): list(8, vs) { $0.bytes.append($1 ? 1 : 0) }
        case let .dateList(ms): list(9, ms) { $0.long(UInt64(bitPattern: $1)) }
        case let .unsupported(typeName): bytes.append(10); text(typeName)
        }
        count += 1
    }

    /// The buffer, its property count written in.
    mutating func finish() -> Data {
        let count = count.littleEndian
        withUnsafeBytes(of: count) { raw in
            for (i, byte) in raw.enumerated() { bytes[countAt + i] = byte }
        }
        return Data(bytes)
    }

    private mutating func list<T>(_ tag: UInt8, _ items: [T], _ item: (inout EncodedCall, T) -> Void) {
        bytes.append(tag)
        int(UInt32(clamping: items.count))
        for i in items { item(&self, i) }
    }

    private mutating func int(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func long(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// UTF-8 (a Swift string is always valid Unicode).
    private mutating func text(_ s: String) {
        let utf8 = s.utf8
        int(UInt32(clamping: utf8.count))
        bytes.append(contentsOf: utf8)
    }
}
