FROM busybox
RUN echo other > /which
COPY . /ctx/
