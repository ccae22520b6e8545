package eu.mesure.tests

import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.ffi.MesureException
import eu.mesure.SiteStorage
import eu.mesure.ffi.VisitorMode
import java.io.File
import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermissions
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.Assert.assertThrows
import eu.mesure.ffi.RunState
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

/** One instance per site, each with its own directory, id and choice. */
class SitesTest {
    private fun site(base: File, id: Long): Mesure {
        val dir = SiteStorage.directory(base, id)
        assertEquals(File(base, "mesure/$id"), dir)
        return Mesure.start(Env.config(siteId = id, dir = dir.path), options { httpClient(HttpUrlConnectionClient()) })
    }

    @Test
    fun twoSitesSideBySideInOneProcess() = repeated {
        Collector.reset()
        val base = File(Env.tempDir())
        site(base, 1001).useAndWait { news ->
            site(base, 1002).useAndWait { shop ->
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
    fun aStoreFromBeforeSitesMovesOnlyIntoItsOwnSite() {
        val base = File(Env.tempDir())
        val legacy = SiteStorage.legacy(base)
        Mesure.start(Env.config(siteId = 615_000, dir = legacy.path)).useAndWait { it.setOptedOut(true) }
        assertTrue(File(legacy, "mesure.sqlite3").exists())

        // Another site starts first: the store is not its own, it stays.
        val other = SiteStorage.directory(base, 7)
        Mesure.start(Env.config(siteId = 7, dir = other.path).copy(legacyStorageDir = legacy.path)).useAndWait {
            it.awaitAppliedBlocking()
            assertEquals(VisitorMode.Exempt, it.state.value.mode)
        }
        assertTrue(File(legacy, "mesure.sqlite3").exists())

        // Its own site takes it, choice file included.
        val dir = SiteStorage.directory(base, 615_000)
        Mesure.start(Env.config(siteId = 615_000, dir = dir.path).copy(legacyStorageDir = legacy.path)).useAndWait {
            it.awaitAppliedBlocking()
            assertEquals("the visitor's opt-out survived the move", VisitorMode.OptOut, it.state.value.mode)
        }
        assertFalse(File(legacy, "mesure.sqlite3").exists())
        assertFalse(File(legacy, "mesure.choice").exists())
        assertTrue(File(dir, "mesure.sqlite3").exists() && File(dir, "mesure.choice").exists())
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.toPath())))
    }

    @Test
    fun aDirectoryOfAnotherSiteIsRefused() {
        val dir = File(Env.tempDir())
        Mesure.start(Env.config(siteId = 1, dir = dir.path)).useAndWait { it.awaitAppliedBlocking() }
        val errors = java.util.Collections.synchronizedList(mutableListOf<MesureException>())
        Mesure.start(Env.config(siteId = 2, dir = dir.path), options { onError { errors += it } }).useAndWait {
            it.trackScreen("home")
            val e = assertThrows(MesureException.StorageOfAnotherSite::class.java) { it.awaitAppliedBlocking() }
            assertEquals("1", e.site)
            val failed = runBlocking { withTimeout(30_000) { it.state.first { s -> s.run is RunState.Failed } } }
            assertEquals(e.toString(), failed.error.toString())
        }
        assertTrue("$errors", errors.single().toString().contains("belongs to site 1"))
    }
}
