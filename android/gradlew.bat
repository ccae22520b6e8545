@rem Gradle wrapper launcher for Windows: see gradlew. If gradle\wrapper\gradle-wrapper.jar
@rem is missing, create it with a Gradle 8.9 or later: gradle wrapper --gradle-version 8.9
@echo off
setlocal
set APP_HOME=%~dp0
set JAR=%APP_HOME%gradle\wrapper\gradle-wrapper.jar
if not exist "%JAR%" (
  echo gradlew: %JAR% is missing; run once, with a Gradle 8.9+ installed: gradle wrapper --gradle-version 8.9 1>&2
  exit /b 1
)
set JAVACMD=java.exe
if defined JAVA_HOME set JAVACMD=%JAVA_HOME%\bin\java.exe
"%JAVACMD%" %DEFAULT_JVM_OPTS% %JAVA_OPTS% %GRADLE_OPTS% "-Dorg.gradle.appname=gradlew" -classpath "%JAR%" org.gradle.wrapper.GradleWrapperMain %*
exit /b %ERRORLEVEL%
