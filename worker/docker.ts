import Docker from 'dockerode';

/**
 * The engine the way the Docker CLI finds it: dockerode's modem reads DOCKER_HOST (unix://, tcp://,
 * ssh://), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) itself, so a TLS engine
 * on 2376 or one behind ssh works with the same variables as `docker`.
 */
export function dockerClient(): Docker {
  return new Docker();
}
