package eu.mesure

import eu.mesure.ffi.HttpFailure
import eu.mesure.ffi.HttpRequest
import eu.mesure.ffi.PlatformHttpClient
import eu.mesure.ffi.UploadCompletion
import java.io.IOException
import java.net.HttpURLConnection
import java.net.SocketTimeoutException
import java.net.URL
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.RejectedExecutionException

/**
 * The platform HTTP client on Android (and any JVM): `HttpURLConnection`,
 * no extra dependency. Requests run one at a time on a daemon thread; the
 * completion is answered exactly once on every path. Redirects are not
 * followed (hits go to the configured collector only: the 3xx is the answer,
 * and the core keeps the batch), nothing is cached and no cookie is sent. At
 * most [MAX_RESPONSE_BYTES] of a response body are read, then dropped: a
 * portal's page or a hostile server's endless body costs nothing.
 */
public class HttpUrlConnectionClient @JvmOverloads public constructor(
    private val executor: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, "mesure-http").apply { isDaemon = true }
    },
) : PlatformHttpClient {

    override fun send(request: HttpRequest, completion: UploadCompletion) {
        try {
            executor.execute { perform(request, completion) }
        } catch (e: RejectedExecutionException) {
            completion.failure(HttpFailure.OTHER, "HTTP executor shut down")
        }
    }

    private fun perform(request: HttpRequest, completion: UploadCompletion) {
        var connection: HttpURLConnection? = null
        try {
            val timeout = request.timeoutMs.coerceIn(0L, Int.MAX_VALUE.toLong()).toInt()
            connection = (URL(request.url).openConnection() as HttpURLConnection).apply {
                requestMethod = "POST"
                connectTimeout = timeout
                readTimeout = timeout
                instanceFollowRedirects = false
                useCaches = false
                doOutput = true
                setFixedLengthStreamingMode(request.body.size)
                // The core's headers include its User-Agent, which replaces the
                // platform default ("Dalvik/2.1.0 (Linux; U; Android 14; <model> ...)").
                request.headers.forEach { setRequestProperty(it.name, it.value) }
            }
            connection.outputStream.use { it.write(request.body) }
            val status = connection.responseCode
            val retryAfter = connection.getHeaderField("Retry-After")
            // Read (bounded) so the connection can be reused. A 2xx answer's
            // body goes to the core: a dialect may read what the collector
            // counted in it (Matomo's {"tracked":n,"invalid":m}).
            if (status in 200..299) {
                val body = connection.inputStream?.use { read(it, MAX_RESPONSE_BYTES) } ?: ByteArray(0)
                completion.responseWithBody(status, retryAfter, body)
            } else {
                (if (status >= 400) connection.errorStream else connection.inputStream)?.use { drain(it, MAX_RESPONSE_BYTES) }
                completion.response(status, retryAfter)
            }
        } catch (e: SocketTimeoutException) {
            completion.failure(HttpFailure.TIMEOUT, e.toString())
        } catch (e: IOException) {
            completion.failure(HttpFailure.NETWORK, e.toString())
        } catch (e: Throwable) {
            // Anything else still answers: the SDK must never wait for nothing.
            completion.failure(HttpFailure.OTHER, e.toString())
        } finally {
            connection?.disconnect()
            completion.close()
        }
    }

    public companion object {
        /** The most of a response body read. */
        public const val MAX_RESPONSE_BYTES: Long = 64 * 1024

        /** Reads at most [limit] bytes of [input]. */
        @JvmStatic
        public fun read(input: java.io.InputStream, limit: Long): ByteArray {
            val out = java.io.ByteArrayOutputStream()
            val buffer = ByteArray(8 * 1024)
            while (out.size() < limit) {
                val n = input.read(buffer, 0, minOf(buffer.size.toLong(), limit - out.size()).toInt())
                if (n < 0) break
                out.write(buffer, 0, n)
            }
            return out.toByteArray()
        }

        /** Reads and discards at most [limit] bytes of [input]; returns how many were read. */
        @JvmStatic
        public fun drain(input: java.io.InputStream, limit: Long): Long {
            val buffer = ByteArray(8 * 1024)
            var total = 0L
            while (total < limit) {
                val n = input.read(buffer, 0, minOf(buffer.size.toLong(), limit - total).toInt())
                if (n < 0) break
                total += n
            }
            return total
        }
    }
}
