package eu.mesure.tests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import eu.mesure.HttpUrlConnectionClient;
import eu.mesure.Mesure;
import eu.mesure.MesureConfigBuilder;
import eu.mesure.ffi.MesureException;
import eu.mesure.MesureOptions;
import eu.mesure.MesureState;
import eu.mesure.ffi.ClickKind;
import eu.mesure.ffi.ConsentContext;
import eu.mesure.ffi.ConsentSettings;
import eu.mesure.ffi.Diagnostic;
import eu.mesure.ffi.FlushReport;
import eu.mesure.ffi.MesureConfig;
import eu.mesure.ffi.PurposeMode;
import eu.mesure.ffi.VisitorMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.Before;
import org.junit.Test;

/** The wrapper from Java, compiled by javac against it as an app's Java code would be. */
public class JavaApiTest {
    @Before
    public void reset() {
        Collector.INSTANCE.reset();
    }

    @Test
    public void startTrackFlushAndCloseFromJava() throws MesureException {
        MesureConfig config = new MesureConfigBuilder(Env.INSTANCE.getCollectorUrl(), 615000L, Env.INSTANCE.tempDir())
            .flushIntervalMs(3_600_000L)
            .build();
        List<Diagnostic> diagnostics = Collections.synchronizedList(new ArrayList<>());
        MesureOptions options = MesureOptions.builder()
            .httpClient(new HttpUrlConnectionClient())
            .onDiagnostic(diagnostics::add)
            .build();

        Mesure mesure = Mesure.start(config, options);
        try (Mesure m = mesure) {
            Map<String, Object> properties = new HashMap<>();
            properties.put("page_chapter1", "news");
            properties.put("user_id", "u-1");
            properties.put("nothing", null);
            m.trackScreen("home", properties);
            m.trackScreen("about");
            m.track("app.opened"); // not an event exempt mode sends: held back
            m.trackClick(ClickKind.NAVIGATION, "open_article");
            m.setOptedOut(false);
            FlushReport report = m.flushBlocking();
            assertEquals(3L, report.getUploaded());
            MesureState state = m.getState().getValue();
            assertTrue(state.getReady());
            assertEquals(VisitorMode.Exempt.INSTANCE, state.getMode());
            assertEquals(3L, m.statsBlocking().getUploaded());
        }
        assertEquals(3, TestSupportKt.receivedEvents().size());
        // user_id (a property exempt mode holds back) and app.opened (an event it holds back).
        assertEquals(2, diagnostics.stream().filter(d -> d instanceof Diagnostic.Dropped).count());

        MesureException.ShutDown closed = assertThrows(MesureException.ShutDown.class, mesure::flushBlocking);
        assertEquals("the SDK is shut down", closed.toString());

        try {
            Mesure.start(new MesureConfigBuilder(Env.INSTANCE.getCollectorUrl(), 0L, Env.INSTANCE.tempDir()).build());
            fail("site id 0 was accepted");
        } catch (MesureException.InvalidConfig e) {
            assertEquals("site_id", e.getField());
            assertEquals("invalid configuration: site_id: must be a positive integer", e.toString());
        }
    }

    /** The consent prompt from Java: the setters with and without it (overloads), and the builder's consent settings. */
    @Test
    public void theConsentPromptFromJava() throws MesureException {
        MesureConfig config = new MesureConfigBuilder(Env.INSTANCE.getCollectorUrl(), 615000L, Env.INSTANCE.tempDir())
            .flushIntervalMs(3_600_000L)
            .consent(new ConsentSettings(null, true, false))
            .build();
        try (Mesure m = Mesure.start(config)) {
            ConsentContext banner = new ConsentContext("main_banner", "2026-12", "fr-FR");
            m.consentPromptShown(banner);
            m.setConsent(true, banner);
            m.setConsent(false);
            m.setMode(VisitorMode.OptOut.INSTANCE, banner);
            m.setMode(VisitorMode.Exempt.INSTANCE);
            m.setPurposes(Collections.singletonMap("audience_measurement", PurposeMode.OPT_IN), banner);
            m.setPurposes(Collections.singletonMap("audience_measurement", PurposeMode.ESSENTIAL));
            m.setConsentStatistics(false);
            String proof = m.consentProofBlocking();
            assertTrue(proof, proof.contains("\"chain\": \"intact\""));
            assertEquals(proof, 3, proof.split("\"prompt_id\": \"main_banner\"", -1).length - 1);
            assertEquals(VisitorMode.Exempt.INSTANCE, m.getState().getValue().getMode());
        }
    }
}
