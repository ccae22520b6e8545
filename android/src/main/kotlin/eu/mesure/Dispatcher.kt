package eu.mesure

import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/**
 * The wrapper's serial worker: one JVM thread, `mesure-dispatch`, runs every
 * call in the order the app made it. A caller only enqueues (a lock held
 * for a few instructions, and a signal when the worker was idle), so
 * `track*` and the setters return at once, and program order holds across
 * them: `setOptedOut(true); track(...)` always filters that track under
 * opt-out, also when both come before the SDK has started.
 *
 * The queue is bounded: past [capacity] waiting tracks, the oldest waiting
 * track is dropped and counted ([onTracksDropped], from this thread before
 * the next call runs). Anything else (mode changes, waiting operations) is
 * never dropped and does not count: a setting never costs a track its place.
 */
internal class Dispatcher(
    private val capacity: Int,
    private val onTracksDropped: (Long) -> Unit,
    private val onFailure: (Throwable) -> Unit,
) {
    /** One call. */
    abstract class Job {
        /** Whether it may be dropped when the queue is full (tracks). */
        open val droppable: Boolean get() = false

        abstract fun run()

        /** Dropped unrun: release whoever waits for it. */
        open fun dropped() {}
    }

    private val lock = ReentrantLock()
    private val work = lock.newCondition()
    private val pending = java.util.ArrayDeque<Job>()
    private var pendingTracks = 0
    private var droppedTracks = 0L
    private var idle = false
    private var closing = false

    /** The worker. A daemon: an app that never closes Mesure still exits. */
    private val thread = Thread(::loop, "mesure-dispatch").apply {
        isDaemon = true
        start()
    }

    val isCurrentThread: Boolean get() = Thread.currentThread() === thread

    /** Enqueues [job]; false once [close] was called (the job is not run). */
    fun submit(job: Job): Boolean {
        var dropped: Job? = null
        lock.withLock {
            if (closing) return false
            if (job.droppable) {
                if (pendingTracks == capacity) {
                    dropped = dropOldestTrack()
                    droppedTracks++
                } else {
                    pendingTracks++
                }
            }
            pending.addLast(job)
            if (idle) work.signal()
        }
        dropped?.dropped()
        return true
    }

    /** The oldest waiting track, removed (the queue holds [capacity] of them, so one exists). */
    private fun dropOldestTrack(): Job? {
        val it = pending.iterator()
        while (it.hasNext()) {
            val j = it.next()
            if (j.droppable) {
                it.remove()
                return j
            }
        }
        return null
    }

    /** Enqueues [last], after which nothing is accepted; false if already closed. The worker ends after it. */
    fun close(last: Job): Boolean {
        lock.withLock {
            if (closing) return false
            pending.addLast(last)
            closing = true
            if (idle) work.signal()
        }
        return true
    }

    private fun loop() {
        while (true) {
            val job: Job
            val dropped: Long
            lock.withLock {
                while (pending.isEmpty()) {
                    if (closing) return
                    idle = true
                    try {
                        work.awaitUninterruptibly()
                    } finally {
                        idle = false
                    }
                }
                job = pending.removeFirst()
                if (job.droppable) pendingTracks--
                dropped = droppedTracks
                droppedTracks = 0
            }
            try {
                if (dropped > 0) onTracksDropped(dropped)
                job.run()
            } catch (t: Throwable) {
                // An app callback or a bug: the worker keeps serving the calls behind.
                onFailure(t)
            }
        }
    }
}
