import MesureBindings

// The generated types an app names, re-exported so that `import Mesure` is
// the only import an app needs, and so that they can be qualified with the
// module's name (`Mesure.VisitorMode`). The generated module itself
// (`MesureBindings`, with the raw `MesureCore` object) is an implementation
// detail; no public type here is named `Mesure`, which would hide the module.

// Configuration.
public typealias MesureConfig = MesureBindings.MesureConfig
public typealias AllowedProperty = MesureBindings.AllowedProperty
public typealias PropertyRule = MesureBindings.PropertyRule
public typealias CustomMode = MesureBindings.CustomMode
public typealias PurposeConfig = MesureBindings.PurposeConfig
public typealias DeviceContext = MesureBindings.DeviceContext
public typealias Collector = MesureBindings.Collector
public typealias ConsentSettings = MesureBindings.ConsentSettings

// Modes and consent. Both print as their wire names (`exempt`, `opt-in`).
public typealias VisitorMode = MesureBindings.VisitorMode
public typealias PurposeMode = MesureBindings.PurposeMode
public typealias ConsentContext = MesureBindings.ConsentContext
public typealias ModeChange = MesureBindings.ModeChange
public typealias ModeChangeReason = MesureBindings.ModeChangeReason
public typealias RunState = MesureBindings.RunState

// Tracking and its reports.
public typealias ClickKind = MesureBindings.ClickKind
public typealias PropertyValue = MesureBindings.PropertyValue
public typealias TrackOutcome = MesureBindings.TrackOutcome
public typealias Diagnostic = MesureBindings.Diagnostic
public typealias SentHit = MesureBindings.SentHit
public typealias FlushReport = MesureBindings.FlushReport
public typealias Stats = MesureBindings.Stats

// Bringing an HTTP client of your own.
public typealias PlatformHttpClient = MesureBindings.PlatformHttpClient
public typealias HttpRequest = MesureBindings.HttpRequest
public typealias HttpHeader = MesureBindings.HttpHeader
public typealias HttpFailure = MesureBindings.HttpFailure
public typealias UploadCompletion = MesureBindings.UploadCompletion
public typealias CallbackError = MesureBindings.CallbackError
