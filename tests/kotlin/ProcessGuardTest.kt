package eu.mesure.tests

import eu.mesure.Mesure
import eu.mesure.ProcessGuard
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
        val config = Env.config(dir = dir)
        Mesure.start(config).use { first ->
            // Refused on the caller's thread, before the first has even opened its store.
            val e = assertThrows(MesureException.StorageInUse::class.java) { Mesure.start(config) }
            assertEquals(dir, e.dir)
            assertEquals("the storage directory $dir is in use by another Mesure instance", e.toString())
            first.setOptedOut(true)
            first.awaitAppliedBlocking()
            assertEquals(VisitorMode.OptOut, first.state.value.mode)
            first.closeAndWait()
        }
        // Closed: the directory is free, and the choice is read back.
        Mesure.start(config).use { again ->
            again.awaitAppliedBlocking()
            assertEquals(VisitorMode.OptOut, again.state.value.mode)
        }
    }

    @Test
    fun ofTwoStartsOnOneDirectoryTheSecondIsAlwaysRefused() = repeated {
        repeat(100) { i ->
            val config = Env.config(dir = Env.tempDir())
            val first = Mesure.start(config, options { httpClient(CaptureClient()) })
            try {
                val e = assertThrows("start $i", MesureException.StorageInUse::class.java) { Mesure.start(config) }
                assertEquals(config.storageDir, e.dir)
                first.trackScreen("home")
                first.flushBlocking()
                assertEquals("start $i: the first keeps working", 1L, first.statsBlocking().accepted)
            } finally {
                first.closeAndWait()
            }
        }
    }
}
