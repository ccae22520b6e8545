package eu.mesure.tests

import eu.mesure.Mesure
import eu.mesure.ProcessGuard
import eu.mesure.MesureException
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
            first.awaitAppliedBlocking()
            // The second start returns (the core starts on the wrapper's thread); its state says why it did not.
            val errors = java.util.Collections.synchronizedList(mutableListOf<MesureException>())
            Mesure.start(config, options { onError { errors += it } }).use { second ->
                second.setOptedOut(true)
                second.awaitAppliedBlocking()
                val error = second.state.value.error
                assertTrue("$error", error is MesureException.StorageInUse)
                assertEquals(dir, (error as MesureException.StorageInUse).dir)
                assertEquals("the storage directory $dir is in use by another Mesure instance", error.message)
                assertFalse(second.state.value.ready)
                assertEquals("the start's error, then the setter's", listOf(error, error), errors.map { it })
                val e = assertThrows(MesureException.StorageInUse::class.java) { second.flushBlocking() }
                assertEquals(dir, e.dir)
            }
            first.setOptedOut(true)
            first.awaitAppliedBlocking()
            assertEquals(VisitorMode.OptOut, first.state.value.mode)
        }
        // Closed: the directory is free, and the choice is read back.
        Mesure.start(config).use { again ->
            again.awaitAppliedBlocking()
            assertEquals(VisitorMode.OptOut, again.state.value.mode)
        }
    }
}
