import Foundation
import MesureBindings

/// What a Mesure operation can fail with: the generated error, one type on
/// every platform (`InvalidConfig(field:reason:)`, `UnknownMode(name:)`,
/// `ShutDown`...). `description`, `errorDescription` (so
/// `localizedDescription`) and `String(reflecting:)` are the core's
/// sentence, e.g. "invalid configuration: site_id: 0 is out of range".
public typealias MesureError = MesureBindings.MesureError

extension MesureBindings.MesureError: CustomStringConvertible {
    /// Any error met on the way, as a MesureError.
    init(any error: Error) {
        self = error as? MesureError ?? .Internal(detail: String(describing: error))
    }
}
