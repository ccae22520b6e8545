package eu.mesure

import eu.mesure.ffi.MesureException
import eu.mesure.ffi.PurposeMode
import eu.mesure.ffi.RunState
import eu.mesure.ffi.VisitorMode

/**
 * What a settings screen shows, published by [Mesure.state]: the core's
 * published state (`SdkState`), as it comes. Before the core's first, the
 * configured default mode, [RunState.Starting] and epoch 0.
 *
 * @property mode the visitor mode in force.
 * @property consentRenewalNeeded an opt-in lapsed: ask for consent again.
 * @property purposes every configured purpose's answer, audience measurement included.
 * @property epoch increases with every change of mode.
 * @property run whether the SDK runs: [RunState.Starting] (calls wait in
 *   order), [RunState.Running], [RunState.Failed] (the start's error) or
 *   [RunState.Closed] (after [Mesure.close]).
 */
public data class MesureState(
    public val mode: VisitorMode,
    public val consentRenewalNeeded: Boolean,
    public val purposes: Map<String, PurposeMode>,
    public val epoch: Long,
    public val run: RunState,
) {
    /** The SDK runs ([run] is [RunState.Running]). */
    public val ready: Boolean get() = run is RunState.Running

    /** Why the start failed ([RunState.Failed]); null otherwise, also after close. */
    public val error: MesureException? get() = (run as? RunState.Failed)?.error
}
