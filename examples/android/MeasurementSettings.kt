// A settings screen with the audience-measurement opt-out, in Jetpack Compose.
// Not compiled in this repository (needs the Android SDK); it uses only the
// public API of the AAR: MesureAndroid.start(...) returns a Mesure whose
// `mode` StateFlow drives the switch.
package eu.mesure.example

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import eu.mesure.Mesure
import eu.mesure.ffi.VisitorMode

@Composable
fun MeasurementSettings(mesure: Mesure, onAskConsent: () -> Unit) {
    val mode by mesure.mode.collectAsState()
    Column(Modifier.padding(16.dp)) {
        Row {
            Column(Modifier.weight(1f)) {
                Text("Audience measurement", style = MaterialTheme.typography.titleMedium)
                Text(
                    when (mode) {
                        VisitorMode.OptOut -> "Off: nothing about you is measured."
                        VisitorMode.OptIn -> "On, with your consent."
                        else -> "Anonymous statistics only (no consent needed)."
                    },
                    style = MaterialTheme.typography.bodySmall,
                )
            }
            // Withdrawing is one tap, as easy as giving consent (CNIL 2020-092).
            Switch(checked = mode != VisitorMode.OptOut, onCheckedChange = { on -> mesure.setOptedOut(!on) })
        }
        if (mesure.modeStatus.consentRenewalNeeded) {
            TextButton(onClick = onAskConsent) { Text("Your consent has expired: review your choice") }
        }
    }
}
