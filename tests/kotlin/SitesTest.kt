package eu.mesure.tests

import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.SiteStorage
import eu.mesure.ffi.VisitorMode
import java.io.File
import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermissions
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** One instance per site, each with its own directory, id and choice. */
class SitesTest {
    private fun site(base: File, id: Long): Mesure {
        val (dir, problem) = SiteStorage.directory(base, id)
        assertNull(problem)
        assertEquals(File(base, "mesure/$id"), dir)
        return Mesure.start(Env.config(siteId = id, dir = dir.path), options { httpClient(HttpUrlConnectionClient()) })
    }

    @Test
    fun twoSitesSideBySideInOneProcess() = repeated {
        Collector.reset()
        val base = File(Env.tempDir())
        site(base, 1001).use { news ->
            site(base, 1002).use { shop ->
                news.trackScreen("news-home")
                shop.trackScreen("shop-home")
                news.flushBlocking()
                shop.flushBlocking()
                news.setOptedOut(true)
                news.trackScreen("news-after")
                shop.trackScreen("shop-after")
                news.flushBlocking()
                shop.flushBlocking()
                assertEquals(VisitorMode.OptOut, news.state.value.mode)
                assertEquals("one site's opt-out is its own", VisitorMode.Exempt, shop.state.value.mode)
            }
        }
        val requests = Collector.received().map { it.asJsonObject }
        val bySite = requests.groupBy({ it["query"].asJsonObject["s"].asString }) {
            it["body"].asJsonObject["events"].asJsonArray.map { e -> e.asJsonObject["data"].asJsonObject["page"].asString }
        }.mapValues { it.value.flatten() }
        assertEquals(mapOf("1001" to listOf("news-home"), "1002" to listOf("shop-home", "shop-after")), bySite)
        val ids = requests.map { it["query"].asJsonObject["s"].asString to it["query"].asJsonObject["idclient"].asString }.toSet()
        assertEquals("one visitor id per site", 2, ids.map { it.second }.toSet().size)
        assertTrue(File(base, "mesure/1001/mesure.sqlite3").exists())
        assertTrue(File(base, "mesure/1002/mesure.sqlite3").exists())
    }

    @Test
    fun aStoreFromBeforeSitesMovesIntoTheFirstSitesDirectory() {
        val base = File(Env.tempDir())
        val legacy = File(base, "mesure")
        Mesure.start(Env.config(siteId = 615_000, dir = legacy.path)).use { it.setOptedOut(true) }
        assertTrue(File(legacy, "mesure.sqlite3").exists())

        val (dir, problem) = SiteStorage.directory(base, 615_000)
        assertNull(problem)
        assertEquals(File(legacy, "615000"), dir)
        assertFalse(File(legacy, "mesure.sqlite3").exists())
        assertTrue(File(dir, "mesure.sqlite3").exists())
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.toPath())))
        Mesure.start(Env.config(siteId = 615_000, dir = dir.path)).use {
            it.awaitAppliedBlocking()
            assertEquals("the visitor's opt-out survived the move", VisitorMode.OptOut, it.state.value.mode)
        }
        // A second site starts empty; the first site's store stays where it is.
        val (other, _) = SiteStorage.directory(base, 7)
        assertNotEquals(dir, other)
        assertFalse(File(other, "mesure.sqlite3").exists())
        assertTrue(File(dir, "mesure.sqlite3").exists())
    }
}
