package eu.mesure

import eu.mesure.ffi.ModeChange
import eu.mesure.ffi.ModeStatus
import eu.mesure.ffi.PurposeMode
import eu.mesure.ffi.VisitorMode
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow

/**
 * What a settings screen shows, published by [Mesure.state].
 *
 * @property mode the visitor mode in force.
 * @property consentRenewalNeeded an opt-in lapsed: ask for consent again.
 * @property purposes every configured purpose's answer, audience measurement included.
 * @property epoch increases with every change of mode (-1 before the SDK is ready).
 * @property ready the SDK has started; before, calls wait in order and [mode] is the configured default.
 * @property error why the SDK is not running: the start's failure
 *   ([MesureException.StorageInUse], [MesureException.Storage]), or
 *   [MesureException.ShutDown] after [Mesure.close].
 */
public data class MesureState(
    public val mode: VisitorMode,
    public val consentRenewalNeeded: Boolean,
    public val purposes: Map<String, PurposeMode>,
    public val epoch: Long,
    public val ready: Boolean,
    public val error: MesureException?,
)

/**
 * The published state. The wrapper's thread (after each applied change) and
 * the SDK's listener thread (each mode change) both publish; a mode older
 * than the one shown (a lower epoch) is ignored, so two quick changes never
 * flip the screen back.
 */
internal class StatePublisher(initial: MesureState) {
    private val state = MutableStateFlow(initial)

    val flow: StateFlow<MesureState> get() = state

    fun offer(status: ModeStatus) = offer(status.mode, status.consentRenewalNeeded, status.purposes, status.epoch)

    fun offer(change: ModeChange) = offer(change.current, change.consentRenewalNeeded, change.purposes, change.epoch)

    @Synchronized
    fun offer(mode: VisitorMode, consentRenewalNeeded: Boolean, purposes: Map<String, PurposeMode>, epoch: Long) {
        val shown = state.value
        if (epoch >= shown.epoch) {
            state.value = shown.copy(mode = mode, consentRenewalNeeded = consentRenewalNeeded, purposes = purposes, epoch = epoch)
        }
    }

    /** The core started with this status. */
    @Synchronized
    fun ready(status: ModeStatus) {
        offer(status)
        state.value = state.value.copy(ready = true, error = null)
    }

    /** The core did not start, or was closed. */
    @Synchronized
    fun stopped(error: MesureException) {
        state.value = state.value.copy(ready = false, error = error)
    }
}
