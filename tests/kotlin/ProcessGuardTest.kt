package eu.mesure.tests

import eu.mesure.Mesure
import eu.mesure.ProcessGuard
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.VisitorMode
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** One SDK per storage directory: the main-process guard, and the core's lock behind it. */
class ProcessGuardTest {
    @Test
    fun onlyTheMainProcessStartsMesure() {
        val pkg = "com.example.news"
        assertTrue(ProcessGuard.isMainProcess("com.example.news", pkg))
        assertFalse(ProcessGuard.isMainProcess("com.example.news:sync", pkg))
        assertFalse(ProcessGuard.isMainProcess("com.example.news:remote", pkg))
        assertFalse(ProcessGuard.isMainProcess("com.example.widgets", pkg))
        assertTrue("unknown: the core's lock is the backstop", ProcessGuard.isMainProcess(null, pkg))
    }

    @Test
    fun theProcessNameIsReadFromCmdline() {
        assertEquals("com.example.news:sync", ProcessGuard.processNameFromCmdline("com.example.news:sync\u0000\u0000".toByteArray()))
        assertEquals("com.example.news", ProcessGuard.processNameFromCmdline("com.example.news".toByteArray()))
        assertNull(ProcessGuard.processNameFromCmdline(ByteArray(0)))
        assertNull(ProcessGuard.processNameFromCmdline(byteArrayOf(0, 0)))
    }

    @Test
    fun aSecondInstanceOnOneDirectoryIsRefused() {
        val dir = Env.tempDir()
        val config = MesureConfig(collectEndpoint = Env.collectorUrl, siteId = 7, storageDir = dir, flushIntervalMs = 3_600_000L)
        Mesure.start(config).use { first ->
            val e = assertThrows(MesureException.StorageInUse::class.java) { Mesure.start(config) }
            assertEquals(dir, e.dir)
            first.setOptedOut(true)
            assertEquals(VisitorMode.OptOut, first.mode.value)
        }
        // Closed: the directory is free, and the choice is read back.
        Mesure.start(config).use { again -> assertEquals(VisitorMode.OptOut, again.mode.value) }
    }
}
