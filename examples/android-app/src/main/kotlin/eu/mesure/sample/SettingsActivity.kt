package eu.mesure.sample

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.mesure.*

class SettingsActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val mesure = (application as SampleApp).mesure
        mesure?.trackScreen("settings")
        setContent {
            MaterialTheme {
                if (mesure != null) MeasurementSettings(mesure) else Text("Audience measurement runs in the main process only.")
            }
        }
    }
}

/**
 * The consent prompt below, as the consent receipts and the consent
 * statistics name it: bump the version whenever its wording or its choices
 * change, so that each answer points at the text the visitor read. The
 * locale is the language of that text (English here), not the device's.
 */
val measurementPrompt = ConsentContext(promptId = "measurement_dialog", promptVersion = "2026-12", locale = "en")

/**
 * The opt-out switch and the consent prompt. The screen only reads
 * Mesure.state and calls setters, which return at once (safe on the main
 * thread); the state updates when the change is applied.
 */
@Composable
fun MeasurementSettings(mesure: Mesure) {
    val state by mesure.state.collectAsStateWithLifecycle()
    var asking by remember { mutableStateOf(false) }
    Column(Modifier.padding(16.dp)) {
        Row {
            Column(Modifier.weight(1f)) {
                Text("Audience measurement", style = MaterialTheme.typography.titleMedium)
                Text(
                    when {
                        !state.ready && state.error != null -> "Unavailable: ${state.error}"
                        state.mode == VisitorMode.OptOut -> "Off: nothing about you is measured."
                        state.mode == VisitorMode.OptIn -> "On, with your consent."
                        else -> "Anonymous statistics only (no consent needed)."
                    },
                    style = MaterialTheme.typography.bodySmall,
                )
            }
            // Withdrawing is one tap, as easy as giving consent (CNIL 2020-092).
            Switch(checked = state.mode != VisitorMode.OptOut, onCheckedChange = { on -> mesure.setOptedOut(!on) })
        }
        if (state.consentRenewalNeeded) {
            TextButton(onClick = { asking = true }) { Text("Your consent has expired: review your choice") }
        } else if (state.mode != VisitorMode.OptIn && state.mode != VisitorMode.OptOut) {
            TextButton(onClick = { asking = true }) { Text("Help us improve the app") }
        }
    }
    if (asking) {
        // Counted once each time the dialog appears (anonymous consent statistics).
        LaunchedEffect(Unit) { mesure.consentPromptShown(measurementPrompt) }
        AlertDialog(
            onDismissRequest = { asking = false },
            title = { Text("Audience measurement") },
            text = { Text("May we measure how you use the app, with an identifier kept 13 months at most? You can change your mind at any time in the settings.") },
            // The answer, and the prompt it was given in (into the consent receipt).
            confirmButton = { TextButton(onClick = { mesure.setConsent(true, measurementPrompt); asking = false }) { Text("Accept") } },
            dismissButton = { TextButton(onClick = { mesure.setConsent(false, measurementPrompt); asking = false }) { Text("Decline") } },
        )
    }
}
